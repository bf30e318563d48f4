package dev.quantflow.runtime.llm;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.quantflow.quant.llm.LayerInputStats;

/**
 * All {@link LayerInputStats} of one LLM calibration pass as one object (the calibration artifact the weight
 * quantizers read), with the weight initializers each tensor feeds.
 *
 * <p>Binary layout, big-endian ({@link DataOutputStream}):
 * <pre>
 *   int    magic 0x51464C43 ("QFLC")
 *   int    version (1)
 *   int    count
 *   count × { int w; w × UTF weight name; LayerInputStats record (LayerInputStats#writeTo) }
 * </pre>
 * Entries keep their order (graph order); tensor names are unique.
 *
 * @param stats per activation tensor, in graph order
 * @param weights per activation tensor, the weight initializers of the MatMuls that read it (may be empty lists)
 */
public record LlmCalibrationArtifact(Map<String, LayerInputStats> stats, Map<String, List<String>> weights) {

    private static final int MAGIC = 0x51464C43;
    private static final int VERSION = 1;

    public LlmCalibrationArtifact {
        Map<String, LayerInputStats> s = new LinkedHashMap<>();
        Map<String, List<String>> w = new LinkedHashMap<>();
        for (Map.Entry<String, LayerInputStats> e : stats.entrySet()) {
            if (!e.getKey().equals(e.getValue().tensor())) {
                throw new IllegalArgumentException("key '" + e.getKey() + "' holds the statistics of tensor '"
                    + e.getValue().tensor() + "'");
            }
            s.put(e.getKey(), e.getValue());
            w.put(e.getKey(), List.copyOf(weights.getOrDefault(e.getKey(), List.of())));
        }
        if (!s.keySet().containsAll(weights.keySet())) {
            throw new IllegalArgumentException("weights are given for tensors without statistics");
        }
        stats = Collections.unmodifiableMap(s);
        weights = Collections.unmodifiableMap(w);
    }

    /** Writes the artifact; the stream is flushed, not closed. */
    public void write(OutputStream stream) throws IOException {
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(stream, 1 << 16));
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt(stats.size());
        for (Map.Entry<String, LayerInputStats> e : stats.entrySet()) {
            List<String> w = weights.get(e.getKey());
            out.writeInt(w.size());
            for (String name : w) {
                out.writeUTF(name);
            }
            e.getValue().writeTo(out);
        }
        out.flush();
    }

    /**
     * Reads an artifact written by {@link #write}; the stream is not closed (it is read ahead, so it should hold
     * nothing after the artifact).
     *
     * @throws IOException if the stream is not such an artifact, of another version, truncated or corrupt
     */
    public static LlmCalibrationArtifact read(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(stream, 1 << 16));
        if (in.readInt() != MAGIC) {
            throw new IOException("not an LLM calibration artifact (bad magic)");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("LLM calibration artifact version " + version + " is not supported (expected " + VERSION + ")");
        }
        int count = in.readInt();
        if (count < 0) {
            throw new IOException("corrupt LLM calibration artifact: " + count + " entries");
        }
        Map<String, LayerInputStats> stats = new LinkedHashMap<>();
        Map<String, List<String>> weights = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            int w = in.readInt();
            if (w < 0) {
                throw new IOException("corrupt LLM calibration artifact: entry " + i + " has " + w + " weights");
            }
            List<String> names = new ArrayList<>(Math.min(w, 64));
            for (int j = 0; j < w; j++) {
                names.add(in.readUTF());
            }
            LayerInputStats s = LayerInputStats.readFrom(in);
            if (stats.put(s.tensor(), s) != null) {
                throw new IOException("corrupt LLM calibration artifact: tensor '" + s.tensor() + "' appears twice");
            }
            weights.put(s.tensor(), names);
        }
        return new LlmCalibrationArtifact(stats, weights);
    }
}
