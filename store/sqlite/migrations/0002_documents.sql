-- The large write-once documents leave the rows that are updated later.
--
-- A request's meta (≈ 2 KB: the signed request among others) and an outbox
-- message's payload (≈ 2 KB: the signed response) made their rows ≈ 2.4 KB,
-- one row per 4 KiB page, so that every later UPDATE of a row (Finish,
-- MarkSent, Claim, Delivered, …) rewrote a whole page of its own. They now
-- live in request_meta and outbox_payload, written once when the row is
-- inserted (same transaction), never updated, and deleted with their row.
-- Their key is an INTEGER PRIMARY KEY (the rowid) that the insert assigns
-- (max + 1): documents are appended at the end of their table, not
-- scattered. The row refers to its document by that number (meta_seq,
-- payload_seq; 0 = no document: an empty meta or payload is not stored).
-- requests and outbox keep their small columns (gbcs ≈ 160 bytes and the
-- response ≈ 170 bytes stay in requests) and pack many rows per page.
--
-- Existing documents are copied across (numbered by their row's rowid, the
-- insertion order) and the old columns are dropped (no index, constraint or
-- view refers to them, so SQLite's ALTER TABLE DROP COLUMN works).

CREATE TABLE request_meta (
  seq  INTEGER PRIMARY KEY,
  meta BLOB NOT NULL
);
ALTER TABLE requests ADD COLUMN meta_seq INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET meta_seq = rowid WHERE length(meta) > 0;
INSERT INTO request_meta(seq, meta) SELECT meta_seq, meta FROM requests WHERE meta_seq <> 0 ORDER BY meta_seq;
ALTER TABLE requests DROP COLUMN meta;

CREATE TABLE outbox_payload (
  seq     INTEGER PRIMARY KEY,
  payload BLOB NOT NULL
);
ALTER TABLE outbox ADD COLUMN payload_seq INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET payload_seq = rowid WHERE length(payload) > 0;
INSERT INTO outbox_payload(seq, payload) SELECT payload_seq, payload FROM outbox WHERE payload_seq <> 0 ORDER BY payload_seq;
ALTER TABLE outbox DROP COLUMN payload;
