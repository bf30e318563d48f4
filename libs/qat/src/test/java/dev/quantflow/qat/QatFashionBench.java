package dev.quantflow.qat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import dev.quantflow.onnx.OnnxModel;

/**
 * QAT on the bundled Fashion-MNIST CNN: fp32, PTQ (step 0) and QAT top-1 on eval.npz, fine-tuning throughput, and
 * the exported QDQ model's accuracy in ONNX Runtime. A command-line main (run by bench/run-qat.sh), not a test.
 *
 * <p>Arguments (all optional, {@code key=value}): {@code steps} (300), {@code batch} (64), {@code lr} (1e-3),
 * {@code bits} (4), {@code perChannel} (false), {@code lsq} (true), {@code ce} (0: distillation only),
 * {@code export} (a path to write the QDQ model to), {@code throughputOnly} (false: just time {@code steps} steps),
 * {@code profile} (with throughputOnly: wall time per node and direction).
 */
public final class QatFashionBench {

    private QatFashionBench() {
    }

    public static void main(String[] args) throws Exception {
        java.util.Map<String, String> a = new java.util.HashMap<>();
        for (String s : args) {
            int eq = s.indexOf('=');
            a.put(s.substring(0, eq), s.substring(eq + 1));
        }
        int steps = Integer.parseInt(a.getOrDefault("steps", "300"));
        int batch = Integer.parseInt(a.getOrDefault("batch", "64"));
        double lr = Double.parseDouble(a.getOrDefault("lr", "1e-3"));
        int bits = Integer.parseInt(a.getOrDefault("bits", "4"));
        boolean perChannel = Boolean.parseBoolean(a.getOrDefault("perChannel", "false"));
        boolean lsq = Boolean.parseBoolean(a.getOrDefault("lsq", "true"));
        double ce = Double.parseDouble(a.getOrDefault("ce", "0"));
        boolean throughputOnly = Boolean.parseBoolean(a.getOrDefault("throughputOnly", "false"));
        QatRecipe recipe = new QatRecipe(bits, perChannel, lsq, steps, batch, lr, 1.0, Math.max(1, steps / 20), 4.0,
            1.0, ce, 4, 20240601L);

        OnnxModel model = FashionFixture.model();
        QatDataset calib = FashionFixture.calibration();
        QatDataset train = FashionFixture.training();
        QatTrainer trainer = new QatTrainer(recipe);
        QatGraph student = trainer.prepare(model, calib);
        QatGraph teacher = QatGraph.fromOnnx(model);
        if (throughputOnly) {
            int warm = Math.min(10, steps);
            new QatTrainer(recipe.withSteps(warm)).fineTune(student, teacher, train, QatProgressListener.NONE);
            boolean profile = Boolean.parseBoolean(a.getOrDefault("profile", "false"));
            java.util.Map<String, long[]> studentTimes = profile ? student.startProfiling() : null;
            java.util.Map<String, long[]> teacherTimes = profile ? teacher.startProfiling() : null;
            QatTrainer.Result r = new QatTrainer(recipe).fineTune(student, teacher, train, QatProgressListener.NONE);
            System.out.printf(Locale.ROOT, "java_qat steps=%d batch=%d simd=%s seconds=%.3f steps_per_s=%.3f%n", steps,
                batch, QatKernels.SIMD, r.seconds(), steps / r.seconds());
            if (profile) {
                studentTimes.forEach((k, v) -> System.out.printf(Locale.ROOT, "  student %-45s %8.2f ms/step%n", k,
                    v[0] / 1e6 / steps));
                teacherTimes.forEach((k, v) -> System.out.printf(Locale.ROOT, "  teacher %-45s %8.2f ms/step%n", k,
                    v[0] / 1e6 / steps));
            }
            return;
        }
        QatDataset eval = FashionFixture.eval();
        double fp32 = QatTrainer.accuracy(teacher, eval, 250);
        double ptq = QatTrainer.accuracy(student, eval, 250);
        System.out.printf(Locale.ROOT, "recipe W%dA8 %s lsq=%s steps=%d batch=%d lr=%g ce=%g%n", bits,
            perChannel ? "per-channel" : "per-tensor", lsq, steps, batch, lr, ce);
        System.out.printf(Locale.ROOT, "fp32 top-1 %.2f%%  PTQ (step 0) top-1 %.2f%%%n", 100 * fp32, 100 * ptq);
        int every = Math.max(1, steps / 10);
        QatTrainer.Result r = trainer.fineTune(student, teacher, train, (step, total, loss, rate) -> {
            if (step % every == 0 || step == total) {
                System.out.printf(Locale.ROOT, "  step %d/%d loss %.4f lr %.2e%n", step, total, loss, rate);
            }
        });
        double qat = QatTrainer.accuracy(student, eval, 250);
        System.out.printf(Locale.ROOT, "QAT top-1 %.2f%% after %d steps in %.1f s (%.2f steps/s)%n", 100 * qat, steps,
            r.seconds(), steps / r.seconds());
        double drop = fp32 - ptq;
        System.out.printf(Locale.ROOT, "PTQ drop %.2f points, QAT recovers %.0f%% of it%n", 100 * drop,
            drop > 0 ? 100 * (qat - ptq) / drop : Double.NaN);
        OnnxModel qdq = QatQdqExporter.export(student);
        float[] ort = FashionFixture.ortOutputs(qdq, eval, 250);
        System.out.printf(Locale.ROOT, "exported QDQ model in ONNX Runtime: top-1 %.2f%%%n",
            100 * FashionFixture.accuracy(ort, eval.labels()));
        if (a.containsKey("export")) {
            Files.write(Path.of(a.get("export")), qdq.toByteArray());
        }
    }
}
