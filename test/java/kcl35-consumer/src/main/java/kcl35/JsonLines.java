package kcl35;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** One JSON object per line, written whole and flushed, from any thread. */
final class JsonLines {
    private final OutputStream out;

    JsonLines(OutputStream out) {
        this.out = out;
    }

    synchronized void write(String json) {
        try {
            out.write((json + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A flat JSON object from name/value pairs, led by "at" (epoch ms, this host's clock, which the tests share
     * with the native workers to order events across processes): strings are quoted, Numbers and Booleans
     * written as they are, null as null.
     */
    static String object(Object... pairs) {
        final StringBuilder b = new StringBuilder("{\"at\":").append(System.currentTimeMillis());
        for (int i = 0; i < pairs.length; i += 2) {
            b.append(',');
            quote(b, String.valueOf(pairs[i]));
            b.append(':');
            final Object value = pairs[i + 1];
            if (value == null) b.append("null");
            else if (value instanceof Number || value instanceof Boolean) b.append(value);
            else quote(b, value.toString());
        }
        return b.append('}').toString();
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        b.append('"');
    }
}
