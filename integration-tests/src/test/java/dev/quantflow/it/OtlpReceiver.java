package dev.quantflow.it;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

import com.sun.net.httpserver.HttpServer;

/**
 * A tiny OTLP/HTTP trace receiver for the integration tests: the services export to it exactly as they would to a
 * collector ({@code http/protobuf}, {@code POST /v1/traces}), and it keeps the spans it decoded. The protobuf is
 * read by hand, only the fields the tests look at (service name, ids, name, string/int attributes), following
 * opentelemetry-proto's trace.proto; everything else is skipped by wire type.
 */
final class OtlpReceiver implements AutoCloseable {

    /** One received span. {@code parentSpanId} is "" for a root. */
    record Span(String service, String traceId, String spanId, String parentSpanId, String name,
                Map<String, String> attributes) {
        String attr(String key) {
            return attributes.getOrDefault(key, "");
        }
    }

    private final HttpServer server;
    private final List<Span> spans = new CopyOnWriteArrayList<>();
    private final List<String> errors = new CopyOnWriteArrayList<>();

    OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            try (exchange) {
                byte[] body;
                try (InputStream in = "gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))
                    ? new GZIPInputStream(exchange.getRequestBody()) : exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                try {
                    spans.addAll(decode(body));
                } catch (RuntimeException e) {
                    errors.add(exchange.getRequestURI() + ": " + e);
                }
                exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                exchange.sendResponseHeaders(200, -1); // an empty ExportTraceServiceResponse
            }
        });
        server.start();
    }

    /** The base URL to give the services' OTLP exporter. */
    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    List<Span> spans() {
        return List.copyOf(spans);
    }

    /** Requests that could not be decoded (a test asserts there are none). */
    List<String> errors() {
        return List.copyOf(errors);
    }

    @Override
    public void close() {
        server.stop(0);
    }

    // --- protobuf, by hand ---------------------------------------------------------------------------------------

    static List<Span> decode(byte[] request) {
        List<Span> out = new java.util.ArrayList<>();
        Reader r = new Reader(request);
        while (r.more()) {
            int tag = r.tag();
            if (tag >>> 3 == 1 && (tag & 7) == 2) {
                resourceSpans(r.bytes(), out);
            } else {
                r.skip(tag);
            }
        }
        return out;
    }

    private static void resourceSpans(byte[] b, List<Span> out) {
        Reader r = new Reader(b);
        Map<String, String> resource = new HashMap<>();
        List<byte[]> scopes = new java.util.ArrayList<>();
        while (r.more()) {
            int tag = r.tag();
            if (tag >>> 3 == 1 && (tag & 7) == 2) {
                Reader res = new Reader(r.bytes());
                while (res.more()) {
                    int t = res.tag();
                    if (t >>> 3 == 1 && (t & 7) == 2) {
                        keyValue(res.bytes(), resource);
                    } else {
                        res.skip(t);
                    }
                }
            } else if (tag >>> 3 == 2 && (tag & 7) == 2) {
                scopes.add(r.bytes());
            } else {
                r.skip(tag);
            }
        }
        String service = resource.getOrDefault("service.name", "");
        for (byte[] scope : scopes) {
            Reader s = new Reader(scope);
            while (s.more()) {
                int t = s.tag();
                if (t >>> 3 == 2 && (t & 7) == 2) {
                    out.add(span(service, s.bytes()));
                } else {
                    s.skip(t);
                }
            }
        }
    }

    private static Span span(String service, byte[] b) {
        Reader r = new Reader(b);
        String trace = "";
        String id = "";
        String parent = "";
        String name = "";
        Map<String, String> attrs = new HashMap<>();
        while (r.more()) {
            int tag = r.tag();
            int field = tag >>> 3;
            if ((tag & 7) != 2) {
                r.skip(tag);
                continue;
            }
            byte[] v = r.bytes();
            switch (field) {
                case 1 -> trace = HexFormat.of().formatHex(v);
                case 2 -> id = HexFormat.of().formatHex(v);
                case 4 -> parent = HexFormat.of().formatHex(v);
                case 5 -> name = new String(v, StandardCharsets.UTF_8);
                case 9 -> keyValue(v, attrs);
                default -> {
                }
            }
        }
        return new Span(service, trace, id, parent, name, Map.copyOf(attrs));
    }

    /** KeyValue{key=1, value=AnyValue{string=1, bool=2, int=3, ...}}: strings and integers kept as text. */
    private static void keyValue(byte[] b, Map<String, String> into) {
        Reader r = new Reader(b);
        String key = null;
        String value = null;
        while (r.more()) {
            int tag = r.tag();
            if (tag >>> 3 == 1 && (tag & 7) == 2) {
                key = new String(r.bytes(), StandardCharsets.UTF_8);
            } else if (tag >>> 3 == 2 && (tag & 7) == 2) {
                Reader any = new Reader(r.bytes());
                while (any.more()) {
                    int t = any.tag();
                    if (t >>> 3 == 1 && (t & 7) == 2) {
                        value = new String(any.bytes(), StandardCharsets.UTF_8);
                    } else if ((t >>> 3 == 3 || t >>> 3 == 2) && (t & 7) == 0) {
                        value = Long.toString(any.varint());
                    } else {
                        any.skip(t);
                    }
                }
            } else {
                r.skip(tag);
            }
        }
        if (key != null && value != null) {
            into.put(key, value);
        }
    }

    private static final class Reader {
        private final byte[] b;
        private int pos;

        Reader(byte[] b) {
            this.b = b;
        }

        boolean more() {
            return pos < b.length;
        }

        int tag() {
            return (int) varint();
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= b.length) {
                    throw new IllegalArgumentException("truncated varint");
                }
                int x = b[pos++] & 0xff;
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw new IllegalArgumentException("varint too long");
        }

        byte[] bytes() {
            int n = (int) varint();
            advance(n);
            return java.util.Arrays.copyOfRange(b, pos - n, pos);
        }

        private void advance(int n) {
            if (n < 0 || n > b.length - pos) {
                throw new IllegalArgumentException("bad length " + n);
            }
            pos += n;
        }

        void skip(int tag) {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> advance(8);
                case 2 -> advance((int) varint());
                case 5 -> advance(4);
                default -> throw new IllegalArgumentException("unsupported wire type " + (tag & 7));
            }
        }
    }
}
