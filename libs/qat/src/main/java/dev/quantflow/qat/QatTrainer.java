package dev.quantflow.qat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.quantflow.onnx.OnnxModel;

/**
 * Quantization-aware fine-tuning of an ONNX model, as a {@link QatRecipe} describes: the fp32 model (the teacher)
 * and a fake-quantized copy (the student) are built from the same ONNX graph, the student's activation ranges are
 * calibrated, and Adam then minimises the student's distillation loss against the teacher (plus cross-entropy when
 * labels are given).
 *
 * <h2>Loss and its gradient</h2>
 * With student logits {@code s}, teacher logits {@code t}, batch size {@code B}, temperature {@code T},
 * {@code p = softmax(t/T)}, {@code q = softmax(s/T)}:
 * <pre>
 *   L_KD = T² / B · Σ_b Σ_c p_bc (log p_bc − log q_bc)        ∂L_KD/∂s_bc = T / B · (q_bc − p_bc)
 *   L_CE = 1 / B · Σ_b −log softmax(s_b)_{y_b}                 ∂L_CE/∂s_bc = (softmax(s_b)_c − [c = y_b]) / B
 * </pre>
 * (the T² keeps the distillation gradient's size independent of T, Hinton et al. 2015).
 *
 * <h2>Adam</h2>
 * {@code m ← β1·m + (1−β1)·g}, {@code v ← β2·v + (1−β2)·g²},
 * {@code θ ← θ − lr_t · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)}; learned step sizes are kept ≥ 1e-12 after each
 * update so that they stay valid scales.
 *
 * <p>Batches: a seeded permutation of the training set (Fisher–Yates with {@link SplittableRandom}), consumed in
 * order and redrawn when fewer than a batch remain. Everything is single-threaded, with a fixed summation order
 * (also in the SIMD kernels) and {@link StrictMath} for exp/log/cos, so the same inputs and recipe give the same bytes
 * on a given JVM and CPU.
 */
public final class QatTrainer {

    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    private final QatRecipe recipe;

    public QatTrainer(QatRecipe recipe) {
        this.recipe = recipe;
    }

    /** The outcome: the fine-tuned fake-quantized graph, and what the run cost. */
    public record Result(QatGraph model, int steps, double seconds, double finalLoss) {
    }

    /**
     * Builds the fake-quantized graph and calibrates its activation ranges on the first
     * {@code recipe.calibrationBatches()} batches of {@code calibration}: the PTQ model (step 0).
     */
    public QatGraph prepare(OnnxModel model, QatDataset calibration) {
        QatGraph student = QatGraph.fromOnnx(model, recipe);
        List<float[]> batches = new ArrayList<>();
        int per = calibration.sampleSize();
        for (int b = 0; b < recipe.calibrationBatches(); b++) {
            int from = b * recipe.batchSize();
            int to = Math.min(calibration.count(), from + recipe.batchSize());
            if (from >= to) {
                break;
            }
            batches.add(java.util.Arrays.copyOfRange(calibration.inputs(), from * per, to * per));
        }
        student.calibrate(batches, calibration.sampleShape());
        return student;
    }

    /** Calibrates ({@link #prepare}), then fine-tunes for {@code recipe.steps()} steps on {@code training}. */
    public Result train(OnnxModel model, QatDataset calibration, QatDataset training, QatProgressListener listener) {
        QatGraph student = prepare(model, calibration);
        QatGraph teacher = QatGraph.fromOnnx(model);
        return fineTune(student, teacher, training, listener);
    }

    /** Fine-tunes an already calibrated student against its fp32 teacher. */
    public Result fineTune(QatGraph student, QatGraph teacher, QatDataset training, QatProgressListener listener) {
        long start = System.nanoTime();
        int batch = Math.min(recipe.batchSize(), training.count());
        int per = training.sampleSize();
        float[] x = new float[batch * per];
        int[] y = training.labels() == null ? null : new int[batch];
        int[] order = new int[training.count()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(recipe.seed());
        int cursor = order.length;
        List<QatTensor> params = student.trainableTensors();
        List<float[]> m1 = new ArrayList<>();
        List<float[]> m2 = new ArrayList<>();
        for (QatTensor p : params) {
            m1.add(new float[p.size()]);
            m2.add(new float[p.size()]);
        }
        float[] grad = new float[0];
        float[] teacherLogits = new float[0];
        double loss = Double.NaN;
        int[] shape = training.batchShape(batch);
        for (int step = 0; step < recipe.steps(); step++) {
            if (cursor + batch > order.length) {
                shuffle(order, random);
                cursor = 0;
            }
            for (int b = 0; b < batch; b++) {
                int idx = order[cursor + b];
                System.arraycopy(training.inputs(), idx * per, x, b * per, per);
                if (y != null) {
                    y[b] = training.labels()[idx];
                }
            }
            cursor += batch;
            QatTensor t = teacher.forward(x, shape);
            if (teacherLogits.length < t.size()) {
                teacherLogits = new float[t.size()];
            }
            System.arraycopy(t.data(), 0, teacherLogits, 0, t.size());
            QatTensor s = student.forward(x, shape);
            if (grad.length < s.size()) {
                grad = new float[s.size()];
            }
            loss = lossAndGradient(s.data(), teacherLogits, y, batch, s.size() / batch, grad);
            student.backward(grad);
            double lr = recipe.learningRateAt(step);
            adam(params, m1, m2, step + 1, lr, student);
            listener.onStep(step + 1, recipe.steps(), loss, lr);
        }
        return new Result(student, recipe.steps(), (System.nanoTime() - start) / 1e9, loss);
    }

    /** Fills {@code grad} with ∂L/∂logits and returns L (see the class doc). */
    double lossAndGradient(float[] student, float[] teacher, int[] labels, int batch, int classes, float[] grad) {
        double temp = recipe.temperature();
        double kdw = recipe.distillationWeight();
        double cew = labels == null ? 0 : recipe.crossEntropyWeight();
        double total = 0;
        double[] p = new double[classes];
        double[] q = new double[classes];
        double[] logQ = new double[classes];
        for (int b = 0; b < batch; b++) {
            int off = b * classes;
            for (int c = 0; c < classes; c++) {
                grad[off + c] = 0f;
            }
            if (kdw > 0) {
                softmax(teacher, off, classes, temp, p, null);
                softmax(student, off, classes, temp, q, logQ);
                double kl = 0;
                for (int c = 0; c < classes; c++) {
                    if (p[c] > 0) {
                        kl += p[c] * (StrictMath.log(p[c]) - logQ[c]);
                    }
                    grad[off + c] += (float) (kdw * temp * (q[c] - p[c]) / batch);
                }
                total += kdw * temp * temp * kl / batch;
            }
            if (cew > 0) {
                softmax(student, off, classes, 1.0, q, logQ);
                total += cew * -logQ[labels[b]] / batch;
                for (int c = 0; c < classes; c++) {
                    grad[off + c] += (float) (cew * (q[c] - (c == labels[b] ? 1 : 0)) / batch);
                }
            }
        }
        return total;
    }

    private static void softmax(float[] logits, int off, int n, double temp, double[] out, double[] logOut) {
        double mx = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < n; c++) {
            mx = Math.max(mx, logits[off + c] / temp);
        }
        double sum = 0;
        for (int c = 0; c < n; c++) {
            sum += StrictMath.exp(logits[off + c] / temp - mx);
        }
        double logSum = StrictMath.log(sum);
        for (int c = 0; c < n; c++) {
            double l = logits[off + c] / temp - mx - logSum;
            out[c] = StrictMath.exp(l);
            if (logOut != null) {
                logOut[c] = l;
            }
        }
    }

    private void adam(List<QatTensor> params, List<float[]> m1, List<float[]> m2, int t, double lr, QatGraph graph) {
        double c1 = 1 - StrictMath.pow(BETA1, t);
        double c2 = 1 - StrictMath.pow(BETA2, t);
        for (int i = 0; i < params.size(); i++) {
            QatTensor p = params.get(i);
            boolean scale = graph.isScale(p);
            double rate = scale ? lr * recipe.scaleLearningRateFactor() : lr;
            float[] w = p.data();
            float[] g = p.grad();
            float[] m = m1.get(i);
            float[] v = m2.get(i);
            for (int k = 0; k < p.size(); k++) {
                m[k] = (float) (BETA1 * m[k] + (1 - BETA1) * g[k]);
                v[k] = (float) (BETA2 * v[k] + (1 - BETA2) * g[k] * g[k]);
                double update = rate * (m[k] / c1) / (Math.sqrt(v[k] / c2) + EPS);
                w[k] = (float) (w[k] - update);
                if (scale && w[k] < 1e-12f) {
                    w[k] = 1e-12f;
                }
            }
        }
    }

    private static void shuffle(int[] a, SplittableRandom random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }

    /** Top-1 accuracy of {@code graph} on a labelled dataset, evaluated in batches of {@code batch}. */
    public static double accuracy(QatGraph graph, QatDataset data, int batch) {
        int correct = 0;
        int per = data.sampleSize();
        for (int from = 0; from < data.count(); from += batch) {
            int n = Math.min(batch, data.count() - from);
            float[] x = java.util.Arrays.copyOfRange(data.inputs(), from * per, (from + n) * per);
            QatTensor out = graph.forward(x, data.batchShape(n));
            int classes = out.size() / n;
            for (int b = 0; b < n; b++) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (out.data()[b * classes + c] > out.data()[b * classes + best]) {
                        best = c;
                    }
                }
                if (best == data.labels()[from + b]) {
                    correct++;
                }
            }
        }
        return (double) correct / data.count();
    }
}
