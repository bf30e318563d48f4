package dev.quantflow.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.quant.qdq.StaticQdqQuantizer;
import dev.quantflow.quant.qdq.StaticQuantRecipe;
import dev.quantflow.quant.qdq.StaticQuantizationResult;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.eval.ComparisonOptions;
import dev.quantflow.runtime.eval.ComparisonResult;
import dev.quantflow.runtime.eval.OutputComparison;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.prepare.ModelPreparer;
import dev.quantflow.runtime.prepare.PreparationOptions;
import dev.quantflow.runtime.prepare.PreparedModel;

/**
 * Mean IoU of the PaddleOCR detector's probability map, fp32 against static INT8, on rendered pages: the steps of a
 * {@code --method static --metric iou} job without the services. The original fp32 model is prepared
 * ({@link ModelPreparer}: Constants to initializers, opset upgrade, BN folding), calibrated (MinMax unless named) on
 * {@code det_calib.npz}, quantized by {@link StaticQdqQuantizer} (default recipe), and its map compared with the
 * original model's on {@code det_eval.npz} ({@link OutputComparison}, binarized at {@code value > t}).
 *
 * <p>{@code DetIouBench MODEL DATA_DIR [THREADS] [THRESHOLD] [CALIBRATOR]}: {@code DATA_DIR} holds
 * {@code det_calib.npz} and {@code det_eval.npz} of {@code dev.quantflow.runtime.ocr.OcrDataRenderer}.
 */
public final class DetIouBench {

    private DetIouBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: DetIouBench MODEL DATA_DIR [THREADS] [THRESHOLD] [CALIBRATOR]");
            System.exit(2);
        }
        byte[] original = Files.readAllBytes(Path.of(args[0]));
        Path dir = Path.of(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        double threshold = args.length > 3 ? Double.parseDouble(args[3]) : ComparisonOptions.DEFAULT_MAP_THRESHOLD;
        String calibrator = args.length > 4 ? args[4] : CalibrationOptions.defaults().calibrator();
        NpzArchive calib = NpzArchive.read(dir.resolve("det_calib.npz"));
        NpzArchive eval = NpzArchive.read(dir.resolve("det_eval.npz"));

        long t0 = System.nanoTime();
        PreparedModel prepared = ModelPreparer.prepare(original, null,
            PreparationOptions.defaults().withInputShape("x", 1, 3, 320, 320));
        byte[] fp32 = prepared.model().toByteArray();
        System.out.printf(Locale.ROOT, "prepared in %.1f s: %s | %s%n", seconds(t0), prepared.report().summary(),
            prepared.check().summary());

        t0 = System.nanoTime();
        StaticQuantRecipe recipe = StaticQuantRecipe.defaults();
        ActivationStatistics stats = CalibrationRunner.run(fp32,
            StaticQdqQuantizer.tensorsToCalibrate(prepared.model(), recipe), calib,
            CalibrationOptions.defaults().withIntraOpThreads(threads).withCalibrator(calibrator), ProgressListener.NONE);
        System.out.printf(Locale.ROOT, "calibrated (%s) on %d pages in %.1f s%n", calibrator, stats.samples(),
            seconds(t0));

        t0 = System.nanoTime();
        StaticQuantizationResult int8 = new StaticQdqQuantizer().quantize(OnnxModel.parse(fp32), stats, recipe);
        System.out.printf(Locale.ROOT, "quantized in %.1f s: %d nodes int8, %d kept fp32%n", seconds(t0),
            int8.quantizedNodes().size(), int8.keptFloatNodes().size());

        ComparisonOptions options = ComparisonOptions.defaults().withIntraOpThreads(threads).withBatchSize(8)
            .withMapThreshold(threshold);
        t0 = System.nanoTime();
        print("original fp32 vs prepared fp32", OutputComparison.compare(original, fp32, eval, options), t0);
        t0 = System.nanoTime();
        print("original fp32 vs static int8  ", OutputComparison.compare(original, int8.model().toByteArray(), eval,
            options), t0);
    }

    private static void print(String what, ComparisonResult r, long t0) {
        System.out.printf(Locale.ROOT, "%s: %d pages, map > %.2f: mean IoU %.4f, min IoU %.4f; mean cosine %.5f; "
                + "max |diff| %.4f; fp32 map in [%.4f, %.4f] (%.1f s)%n", what, r.samples(), r.mapThreshold(),
            r.meanIou(), r.minIou(), r.meanCosine(), r.maxAbsDiff(), r.referenceMin(), r.referenceMax(), seconds(t0));
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
