// Oracle drives the DCC Boxed signing tool (uk.co.smartdcc.boxed.xmldsig,
// from @smartdcc/duis-sign-wrap's tool.jar) for many documents in one JVM.
//
// Starting a JVM costs about half a second, so running the tool's CLI once per
// document makes conformance runs over hundreds of templates slow. Oracle
// instead calls the CLI's own entry points, Sign.main_aux and
// Validate.main_aux, which take the same arguments as the command line and
// return its exit code. Their stdout and stderr are captured per operation,
// and the System.exit calls the tool makes on some error paths (unparsable
// input, unreadable key or certificate) are trapped, so every operation
// reports exactly what the CLI would have: exit code, stderr and stdout.
//
// It is compiled at test time by internal/interop against tool.jar.
//
// Server mode (no arguments): reads requests from stdin, one per line,
// fields separated by TAB:
//
//   sign     <in> <out|""> <preserve 0|1> [<cert.pem> [<key>]]
//   validate <in> <out|""> [<cert.pem>]
//
// and answers each with one line:
//
//   ok <TAB> <rc> <TAB> base64(stderr) <TAB> base64(stdout)
//   error <TAB> base64(message)          (malformed request)
//
// When <out> is not empty, the tool's stdout is also written to that file,
// as the CLI's `> out` redirection would. The first line printed is
// "ready <TAB> trap=<true|false>".
//
// Bench mode: Oracle bench <sign|verify|sign-core|verify-core> <in>
// <warmup-ms> <measure-ms> prints
//
//   bench <TAB> <wall ns/op> <TAB> <ops> <TAB> <elapsed-ns> <TAB> <cpu ns/op> <TAB> <gc-ms>
//
// where cpu ns/op is the CPU time of the benchmark thread (less sensitive to
// other load on the machine than wall time, but it excludes GC and JIT
// threads) and gc-ms the collectors' accumulated time during the timed part.
//
// "sign" and "verify" time the tool's entry points (file read, parse with XSD
// validation, certificate lookup, XML-DSig, serialisation); "sign-core" and
// "verify-core" time only the XML-DSig step on a pre-parsed DOM with the
// tool's parameters, to compare with signers that do not validate the schema.
// No exit trap is installed in bench mode, so the measured code runs without
// a SecurityManager.

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.Key;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;

import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignatureMethod;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.Transform;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.crypto.dsig.spec.C14NMethodParameterSpec;
import javax.xml.crypto.dsig.spec.TransformParameterSpec;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;

import org.w3c.dom.Document;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import uk.co.smartdcc.boxed.xmldsig.CertificateLibrary;
import uk.co.smartdcc.boxed.xmldsig.Sign;
import uk.co.smartdcc.boxed.xmldsig.Util;
import uk.co.smartdcc.boxed.xmldsig.Validate;

public final class Oracle {
    private Oracle() {}

    private static final String DSIG_NS = "http://www.w3.org/2000/09/xmldsig#";
    private static final String SUG_NS = "http://www.dccinterface.co.uk/ServiceUserGateway";

    /** Thrown in place of System.exit while an operation runs. */
    static final class ExitTrapped extends SecurityException {
        private static final long serialVersionUID = 1L;
        final int status;

        ExitTrapped(int status) {
            super("System.exit(" + status + ") trapped");
            this.status = status;
        }
    }

    /** Per-operation capture: buffers plus the state of a trapped exit. */
    static final class Capture {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final PrintStream outPS = new PrintStream(out, true);
        final PrintStream errPS = new PrintStream(err, true);
        Integer exitStatus; // first System.exit status, if any
        int outAtExit, errAtExit; // bytes written before that exit
    }

    private static volatile Capture current;

    @SuppressWarnings("removal")
    private static boolean installExitTrap() {
        try {
            System.setSecurityManager(new SecurityManager() {
                @Override
                public void checkExit(int status) {
                    Capture c = current;
                    if (c == null) {
                        return; // Oracle itself may exit normally
                    }
                    if (c.exitStatus == null) {
                        c.outPS.flush();
                        c.errPS.flush();
                        c.exitStatus = status;
                        c.outAtExit = c.out.size();
                        c.errAtExit = c.err.size();
                    }
                    throw new ExitTrapped(status);
                }

                @Override
                public void checkPermission(java.security.Permission p) {}

                @Override
                public void checkPermission(java.security.Permission p, Object ctx) {}
            });
            return true;
        } catch (UnsupportedOperationException | SecurityException e) {
            // JDK 24+ has no SecurityManager: an exit then ends the server and
            // the Go side restarts it and reports the process exit status.
            return false;
        }
    }

    /** Result of one tool invocation, as the CLI would have produced it. */
    static final class Result {
        int rc;
        byte[] stdout;
        byte[] stderr;
    }

    /** Runs Sign.main_aux or Validate.main_aux with captured streams. */
    static Result run(boolean sign, String[] args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        Capture c = new Capture();
        Result r = new Result();
        current = c;
        System.setOut(c.outPS);
        System.setErr(c.errPS);
        try {
            r.rc = (sign ? Sign.main_aux(args) : Validate.main_aux(args)).value();
        } catch (ExitTrapped e) {
            // handled below through c.exitStatus
        } catch (Throwable t) {
            // The JVM would print the stack trace and exit with status 1.
            t.printStackTrace(c.errPS);
            r.rc = 1;
        } finally {
            current = null;
            c.outPS.flush();
            c.errPS.flush();
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
        byte[] out = c.out.toByteArray(), err = c.err.toByteArray();
        if (c.exitStatus != null) {
            // The CLI process would have ended at the exit call: drop anything
            // the tool printed afterwards (e.g. from its own catch blocks).
            r.rc = c.exitStatus;
            out = java.util.Arrays.copyOf(out, c.outAtExit);
            err = java.util.Arrays.copyOf(err, c.errAtExit);
        }
        r.stdout = out;
        r.stderr = err;
        return r;
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length > 0 && argv[0].equals("bench")) {
            bench(argv);
            return;
        }
        PrintStream proto = new PrintStream(new FileOutputStream(java.io.FileDescriptor.out), false, "UTF-8");
        boolean trap = installExitTrap();
        proto.print("ready\ttrap=" + trap + "\n");
        proto.flush();
        Base64.Encoder b64 = Base64.getEncoder();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String reply;
            try {
                reply = serve(line.split("\t", -1), b64);
            } catch (Exception e) {
                reply = "error\t" + b64.encodeToString(String.valueOf(e).getBytes(StandardCharsets.UTF_8));
            }
            proto.print(reply + "\n");
            proto.flush();
        }
    }

    private static String serve(String[] f, Base64.Encoder b64) throws Exception {
        List<String> args = new ArrayList<>();
        String out;
        boolean sign;
        switch (f[0]) {
            case "sign":
                if (f.length < 4 || f.length > 6) {
                    throw new IllegalArgumentException("sign: want 3 to 5 fields, got " + (f.length - 1));
                }
                sign = true;
                args.add(f[1]);
                out = f[2];
                if (f[3].equals("1")) {
                    args.add("--preserveCounter");
                }
                for (int i = 4; i < f.length; i++) {
                    args.add(f[i]);
                }
                break;
            case "validate":
                if (f.length < 3 || f.length > 4) {
                    throw new IllegalArgumentException("validate: want 2 or 3 fields, got " + (f.length - 1));
                }
                sign = false;
                args.add(f[1]);
                out = f[2];
                if (f.length == 4) {
                    args.add(f[3]);
                }
                break;
            default:
                throw new IllegalArgumentException("unknown operation " + f[0]);
        }
        Result r = run(sign, args.toArray(new String[0]));
        if (!out.isEmpty()) {
            Files.write(Paths.get(out), r.stdout);
        }
        return "ok\t" + r.rc + "\t" + b64.encodeToString(r.stderr) + "\t" + b64.encodeToString(r.stdout);
    }

    // ---- bench mode ----

    /** A repeatable unit of work; returns an int so the JIT cannot drop it. */
    interface Op {
        int run() throws Exception;
    }

    private static void bench(String[] argv) throws Exception {
        if (argv.length != 5) {
            throw new IllegalArgumentException("usage: bench <sign|verify|sign-core|verify-core> <in> <warmup-ms> <measure-ms>");
        }
        String op = argv[1], in = argv[2];
        long warmNs = Long.parseLong(argv[3]) * 1_000_000L;
        long measureNs = Long.parseLong(argv[4]) * 1_000_000L;
        PrintStream report = System.out;
        PrintStream sink = new PrintStream(OutputStream.nullOutputStream());
        Op o = makeOp(op, in, sink);

        // One checked run with the real streams' content kept, so that a
        // failing operation is reported instead of timed.
        ByteArrayOutputStream firstErr = new ByteArrayOutputStream();
        PrintStream savedErr = System.err;
        System.setErr(new PrintStream(firstErr, true));
        System.setOut(sink);
        int rc;
        try {
            rc = o.run();
        } finally {
            System.setErr(savedErr);
        }
        if (rc != 0) {
            System.setOut(report);
            report.println("fail\t" + rc + "\t" + Base64.getEncoder().encodeToString(firstErr.toByteArray()));
            return;
        }
        System.setErr(sink);

        int acc = 0;
        long t0 = System.nanoTime();
        while (System.nanoTime() - t0 < warmNs) {
            acc += o.run();
        }
        java.lang.management.ThreadMXBean tmx = java.lang.management.ManagementFactory.getThreadMXBean();
        long gc0 = gcMillis();
        long ops = 0;
        long cpu0 = tmx.getCurrentThreadCpuTime();
        t0 = System.nanoTime();
        long t;
        do {
            acc += o.run();
            ops++;
            t = System.nanoTime() - t0;
        } while (t < measureNs);
        long cpu = tmx.getCurrentThreadCpuTime() - cpu0;
        long gc = gcMillis() - gc0;
        System.setErr(savedErr);
        System.setOut(report);
        if (acc != 0) {
            report.println("fail\t" + acc + "\t" + Base64.getEncoder().encodeToString("non-zero rc during timing".getBytes(StandardCharsets.UTF_8)));
            return;
        }
        report.println("bench\t" + ((double) t / ops) + "\t" + ops + "\t" + t + "\t" + ((double) cpu / ops) + "\t" + gc);
    }

    private static long gcMillis() {
        long ms = 0;
        for (java.lang.management.GarbageCollectorMXBean gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, gc.getCollectionTime());
        }
        return ms;
    }

    private static Op makeOp(String op, String in, PrintStream sink) throws Exception {
        switch (op) {
            case "sign":
                return () -> Sign.main_aux(new String[] {in, "--preserveCounter"}).value();
            case "verify":
                return () -> Validate.main_aux(new String[] {in}).value();
            case "sign-core":
                return signCore(in, sink);
            case "verify-core":
                return verifyCore(in);
            default:
                throw new IllegalArgumentException("unknown bench op " + op);
        }
    }

    /**
     * sign-core: the XML-DSig part of Sign.main_aux (Sign.java:87–155) on a
     * fresh clone of a parsed document, followed by serialisation as the tool
     * does, without file I/O or schema validation.
     */
    private static Op signCore(String in, PrintStream sink) throws Exception {
        Document doc = parseLikeTool(in);
        NodeList sigs = doc.getElementsByTagNameNS(DSIG_NS, "Signature");
        while (sigs.getLength() > 0) {
            sigs.item(0).getParentNode().removeChild(sigs.item(0));
        }
        String rid = doc.getElementsByTagNameNS(SUG_NS, "RequestID").item(0).getTextContent();
        String eui = rid.split(":")[0];
        X509Certificate cert = CertificateLibrary.getInstance().lookup(eui);
        PrivateKey key = CertificateLibrary.getInstance().lookup_key(eui);
        if (cert == null || key == null) {
            throw new IllegalStateException("no key in the tool's library for " + eui);
        }
        XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
        TransformerFactory tf = TransformerFactory.newInstance();
        return () -> {
            Document d = (Document) doc.cloneNode(true);
            DOMSignContext ctx = new DOMSignContext(key, d.getDocumentElement());
            ctx.setDefaultNamespacePrefix("ds");
            Reference ref = fac.newReference("", fac.newDigestMethod(DigestMethod.SHA256, null),
                    Collections.singletonList(fac.newTransform(Transform.ENVELOPED, (TransformParameterSpec) null)), null, null);
            SignedInfo si = fac.newSignedInfo(
                    fac.newCanonicalizationMethod(CanonicalizationMethod.EXCLUSIVE, (C14NMethodParameterSpec) null),
                    fac.newSignatureMethod("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", null),
                    Collections.singletonList(ref));
            KeyInfoFactory kif = fac.getKeyInfoFactory();
            List<Object> x509 = new ArrayList<>();
            x509.add(kif.newX509IssuerSerial(cert.getIssuerX500Principal().getName(), cert.getSerialNumber()));
            X509Data xd = kif.newX509Data(x509);
            KeyInfo ki = kif.newKeyInfo(Collections.singletonList(xd));
            XMLSignature sig = fac.newXMLSignature(si, ki);
            sig.sign(ctx);
            tf.newTransformer().transform(new DOMSource(d), new StreamResult(sink));
            return 0;
        };
    }

    /**
     * verify-core: the signature check of Validate.main_aux on a pre-parsed
     * document: serial lookup in the tool's library, unmarshal, validate.
     */
    private static Op verifyCore(String in) throws Exception {
        Document doc = parseLikeTool(in);
        XMLSignatureFactory fac = XMLSignatureFactory.getInstance("DOM");
        return () -> {
            NodeList serials = doc.getElementsByTagNameNS(DSIG_NS, "X509SerialNumber");
            X509Certificate cert = CertificateLibrary.getInstance().lookup(new BigInteger(serials.item(0).getTextContent()));
            if (cert == null) {
                return 3;
            }
            Key pub = cert.getPublicKey();
            Node sigNode = doc.getElementsByTagNameNS(DSIG_NS, "Signature").item(0);
            DOMValidateContext ctx = new DOMValidateContext(pub, sigNode);
            XMLSignature sig = fac.unmarshalXMLSignature(ctx);
            return sig.validate(ctx) ? 0 : 10;
        };
    }

    /** Parses in with the tool's own factory (schema, whitespace handling). */
    private static Document parseLikeTool(String in) throws Exception {
        DocumentBuilderFactory dbf = Util.create_document_builder_factory();
        return dbf.newDocumentBuilder().parse(new ByteArrayInputStream(Files.readAllBytes(Paths.get(in))));
    }
}
