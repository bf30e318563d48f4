package dev.quantflow.qat;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;

/** The bundled Fashion-MNIST CNN and its data sets (fixtures/fashion-cnn), and ONNX Runtime for reference runs. */
final class FashionFixture {

    static final Path DIR = locate();

    private FashionFixture() {
    }

    private static Path locate() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("fixtures/fashion-cnn"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("fixtures/fashion-cnn not found above " + Path.of("").toAbsolutePath());
        }
        return p.resolve("fixtures/fashion-cnn");
    }

    static OnnxModel model() {
        try {
            return OnnxModel.parse(Files.readAllBytes(DIR.resolve("model.onnx")));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static QatDataset calibration() {
        NpzArchive a = NpzArchive.read(DIR.resolve("calib.npz"));
        return new QatDataset(a.array("input").toFloats(), new int[] {1, 28, 28}, null);
    }

    static QatDataset eval() {
        NpzArchive a = NpzArchive.read(DIR.resolve("eval.npz"));
        return new QatDataset(a.array("input").toFloats(), new int[] {1, 28, 28}, toInts(a.array("labels")));
    }

    /** train.npz (made by make_train_subset.py): float32 pixels in [0, 1] under the model input's name, with labels. */
    static QatDataset training() {
        NpzArchive a = NpzArchive.read(DIR.resolve("train.npz"));
        return new QatDataset(a.array("input").toFloats(), new int[] {1, 28, 28}, toInts(a.array("labels")));
    }

    private static int[] toInts(NdArray labels) {
        long[] l = labels.toLongs();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = (int) l[i];
        }
        return out;
    }

    /** Runs {@code model} in ONNX Runtime (1 thread) on the data set in batches; returns the flat outputs. */
    static float[] ortOutputs(OnnxModel model, QatDataset data, int batch) throws Exception {
        return ortOutputs(model, data, batch, Map.of());
    }

    /** As above, with extra session config entries (e.g. {@code session.x64quantprecision}). */
    static float[] ortOutputs(OnnxModel model, QatDataset data, int batch, Map<String, String> config)
            throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            for (var e : config.entrySet()) {
                opts.addConfigEntry(e.getKey(), e.getValue());
            }
            try (OrtSession session = env.createSession(model.toByteArray(), opts)) {
                String in = session.getInputNames().iterator().next();
                int per = data.sampleSize();
                float[] result = null;
                int classes = 0;
                for (int from = 0; from < data.count(); from += batch) {
                    int n = Math.min(batch, data.count() - from);
                    long[] shape = new long[data.sampleShape().length + 1];
                    shape[0] = n;
                    for (int d = 0; d < data.sampleShape().length; d++) {
                        shape[d + 1] = data.sampleShape()[d];
                    }
                    try (OnnxTensor t = OnnxTensor.createTensor(env,
                            FloatBuffer.wrap(data.inputs(), from * per, n * per), shape);
                         OrtSession.Result r = session.run(Map.of(in, t))) {
                        float[][] out = (float[][]) r.get(0).getValue();
                        if (result == null) {
                            classes = out[0].length;
                            result = new float[data.count() * classes];
                        }
                        for (int b = 0; b < n; b++) {
                            System.arraycopy(out[b], 0, result, (from + b) * classes, classes);
                        }
                    }
                }
                return result;
            }
        }
    }

    static double accuracy(float[] logits, int[] labels) {
        int classes = logits.length / labels.length;
        int correct = 0;
        for (int b = 0; b < labels.length; b++) {
            int best = 0;
            for (int c = 1; c < classes; c++) {
                if (logits[b * classes + c] > logits[b * classes + best]) {
                    best = c;
                }
            }
            if (best == labels[b]) {
                correct++;
            }
        }
        return (double) correct / labels.length;
    }
}
