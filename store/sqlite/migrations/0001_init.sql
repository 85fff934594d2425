-- OpenDCC core schema, SQLite. Times are Unix nanoseconds (0 = unset);
-- EUI-64s are 16 upper-case hex digits; counters are unsigned 64-bit values
-- stored with the top bit flipped so that signed order is unsigned order.

CREATE TABLE users (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL DEFAULT '',
  roles        TEXT NOT NULL DEFAULT '',
  status       TEXT NOT NULL,
  response_url TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE user_certs (
  issuer  TEXT NOT NULL,
  serial  TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  usage   TEXT NOT NULL,
  role    TEXT NOT NULL DEFAULT '',
  seq     INTEGER NOT NULL,
  der     BLOB,
  PRIMARY KEY (issuer, serial)
);
CREATE INDEX user_certs_user ON user_certs(user_id, seq);

CREATE TABLE devices (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  status        TEXT NOT NULL,
  status_since  INTEGER NOT NULL,
  manufacturer  TEXT NOT NULL DEFAULT '',
  model         TEXT NOT NULL DEFAULT '',
  firmware      TEXT NOT NULL DEFAULT '',
  smets_version TEXT NOT NULL DEFAULT '',
  esme_variant  TEXT NOT NULL DEFAULT '',
  chf           TEXT NOT NULL DEFAULT '',
  gpf           TEXT NOT NULL DEFAULT '',
  meter         TEXT NOT NULL DEFAULT '',
  import_mpxn   TEXT NOT NULL DEFAULT '',
  secondary_mpan TEXT NOT NULL DEFAULT '',
  export_mpan   TEXT NOT NULL DEFAULT '',
  uprn          TEXT NOT NULL DEFAULT '',
  csp_region    TEXT NOT NULL DEFAULT '',
  version       INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX devices_import_mpxn ON devices(import_mpxn) WHERE import_mpxn <> '';
CREATE INDEX devices_secondary_mpan ON devices(secondary_mpan) WHERE secondary_mpan <> '';
CREATE INDEX devices_export_mpan ON devices(export_mpan) WHERE export_mpan <> '';
CREATE INDEX devices_uprn ON devices(uprn) WHERE uprn <> '';
CREATE INDEX devices_chf ON devices(chf) WHERE chf <> '';
CREATE INDEX devices_meter ON devices(meter) WHERE meter <> '';

CREATE TABLE device_status_history (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  at        INTEGER NOT NULL,
  reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_status_history_device ON device_status_history(device_id, seq);

CREATE TABLE registrations (
  mpxn      TEXT NOT NULL,
  role      TEXT NOT NULL,
  valid_from INTEGER NOT NULL,
  valid_to  INTEGER NOT NULL, -- 0 = open-ended
  party     TEXT NOT NULL,
  PRIMARY KEY (mpxn, role, valid_from)
);

CREATE TABLE counters (
  space      TEXT NOT NULL,
  originator TEXT NOT NULL,
  last       INTEGER NOT NULL,
  PRIMARY KEY (space, originator)
);

CREATE TABLE requests (
  id              TEXT PRIMARY KEY,
  originator      TEXT NOT NULL,
  target          TEXT NOT NULL,
  counter         INTEGER NOT NULL,
  srv             TEXT NOT NULL,
  command_variant INTEGER NOT NULL,
  role            TEXT NOT NULL DEFAULT '',
  gbcs            BLOB,
  execute_at      INTEGER NOT NULL,
  state           TEXT NOT NULL,
  outcome         TEXT NOT NULL DEFAULT '',
  response        BLOB,
  deadline        INTEGER NOT NULL,
  accepted_at     INTEGER NOT NULL,
  sent_at         INTEGER NOT NULL,
  finished_at     INTEGER NOT NULL,
  meta            BLOB,
  UNIQUE (originator, counter)
);
CREATE INDEX requests_open_deadline ON requests(deadline) WHERE state IN ('accepted', 'sent') AND deadline <> 0;
CREATE INDEX requests_open ON requests(state, id) WHERE state IN ('accepted', 'sent');

CREATE TABLE outbox (
  id           TEXT PRIMARY KEY,
  recipient    TEXT NOT NULL,
  url          TEXT NOT NULL DEFAULT '',
  kind         TEXT NOT NULL DEFAULT '',
  request_id   TEXT NOT NULL DEFAULT '',
  payload      BLOB,
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT NOT NULL DEFAULT '',
  lease_owner  TEXT NOT NULL DEFAULT '',
  lease_until  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox(next_attempt, id) WHERE delivered_at = 0;
CREATE INDEX outbox_recipient ON outbox(recipient, created_at) WHERE delivered_at = 0;
CREATE INDEX outbox_expires ON outbox(expires_at);

CREATE TABLE holds (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL DEFAULT '',
  owner       TEXT NOT NULL DEFAULT '',
  request_id  TEXT NOT NULL DEFAULT '',
  release_at  INTEGER NOT NULL,
  payload     BLOB,
  releases    INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);
CREATE INDEX holds_release ON holds(release_at, id);
CREATE INDEX holds_request ON holds(request_id) WHERE request_id <> '';
