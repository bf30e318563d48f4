package dev.quantflow.bench;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.quant.calib.ActivationStatistics;
import dev.quantflow.runtime.calib.CalibrationOptions;
import dev.quantflow.runtime.calib.CalibrationRunner;
import dev.quantflow.runtime.calib.ProgressListener;
import dev.quantflow.runtime.npz.NdArray;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.npz.NpzWriter;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Peak memory of a calibration run with N and 10×N samples, each in a fresh JVM, for several calibrators: does the
 * calibration's memory grow with the number of samples?
 *
 * <p>Data: sample {@code s} of the N-sample file is row {@code s mod 512} of {@code calib.npz}; rows after the first
 * 512 get deterministic noise (uniform ±0.05 from {@code Random(s)}, clamped to [0, 1]) so no two batches repeat
 * exactly. Files are written once, uncompressed, under {@code bench/target/calibration-memory/}.
 *
 * <p>Child JVM ({@code --child model.onnx data.npz calibrator}): loads ONNX Runtime, records {@code VmRSS}; reads the
 * .npz (held in memory by {@link NpzArchive}, as the calibration service does); records {@code VmRSS} and the peak so
 * far ({@code VmHWM}); resets the peak ({@code 5 > /proc/self/clear_refs}); calibrates every float activation
 * (batch 32, one intra-op thread); records {@code VmHWM} again. Reported:
 * <ul>
 *   <li><b>process peak</b>: the larger of the two {@code VmHWM} readings — the whole process, loaded data included;
 *   <li><b>process peak − data</b>: the same minus the bytes of the loaded arrays;
 *   <li><b>calibration working</b>: {@code VmHWM} after the reset minus {@code VmRSS} before calibration — what the
 *       calibration itself adds on top of a process that already holds the model bytes and the data (session,
 *       per-batch tensors, histograms, Java heap growth).
 * </ul>
 *
 * <p>Arguments: {@code [fixtureDir (fixtures/fashion-cnn)] [N (512)] [calibrators (minmax,entropy)]}.
 */
public final class CalibrationMemoryBench {

    private static final String RESULT = "quantflow-calib-mem ";
    private static final List<String> CHILD_JVM_FLAGS = List.of("-XX:+UseSerialGC", "-Xmx512m", "-Xmn64m",
        "--enable-native-access=ALL-UNNAMED");

    private CalibrationMemoryBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(Path.of(args[1]), Path.of(args[2]), args[3]);
            return;
        }
        Path fixture = Path.of(args.length > 0 ? args[0] : "fixtures/fashion-cnn");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        List<String> calibrators = List.of((args.length > 2 ? args[2] : "minmax,entropy").split(","));
        System.out.printf(Locale.ROOT, "child JVM: %s; batch 32, 1 intra-op thread, all float activations%n",
            String.join(" ", CHILD_JVM_FLAGS));
        System.out.println("| calibrator | samples | data (MiB) | process peak (MiB) | process peak − data (MiB) "
            + "| calibration working (MiB) | time (s) |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (Measured m : measure(fixture, n, calibrators)) {
            System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", m.calibrator(), m.samples(),
                m.dataMb(), m.peakMb(), m.peakMb() - m.dataMb(), m.workingMb(), m.seconds());
        }
    }

    /** One child run: the loaded data, the process's VmHWM, the calibration's working set (MiB), wall seconds. */
    record Measured(String calibrator, int samples, double dataMb, double peakMb, double workingMb, double seconds) {
    }

    /** Every calibrator with {@code n} and {@code 10·n} samples, each in a fresh child JVM (see the class comment). */
    static List<Measured> measure(Path fixture, int n, List<String> calibrators) throws Exception {
        Path work = Path.of("bench/target/calibration-memory");
        Files.createDirectories(work);
        NpzArchive source = NpzArchive.read(fixture.resolve("calib.npz"));
        List<Path> files = new ArrayList<>();
        for (int samples : new int[] {n, 10 * n}) {
            Path file = work.resolve("calib-" + samples + ".npz");
            if (!Files.exists(file)) {
                NpzWriter.write(file, List.of(repeat(source.array("input"), samples)), false);
            }
            files.add(file);
        }
        String classpath = classpath();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Measured> out = new ArrayList<>();
        for (String calibrator : calibrators) {
            for (Path file : files) {
                List<String> cmd = new ArrayList<>();
                cmd.add(java);
                cmd.addAll(CHILD_JVM_FLAGS);
                cmd.addAll(List.of("-cp", classpath, CalibrationMemoryBench.class.getName(), "--child",
                    fixture.resolve("model.onnx").toString(), file.toString(), calibrator));
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("child failed for " + calibrator + " on " + file + ":\n" + text);
                }
                String line = text.lines().filter(l -> l.startsWith(RESULT)).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no result from child:\n" + text));
                String[] f = line.substring(RESULT.length()).trim().split(" ");
                out.add(new Measured(calibrator, Integer.parseInt(f[0]), Long.parseLong(f[1]) / 1048576.0,
                    Long.parseLong(f[2]) / 1024.0, Long.parseLong(f[3]) / 1024.0, Double.parseDouble(f[4])));
            }
        }
        return out;
    }

    static NdArray repeat(NdArray input, int samples) {
        int rows = input.rows();
        int perRow = (int) input.rowElements();
        float[] src = input.toFloats();
        float[] out = new float[samples * perRow];
        for (int s = 0; s < samples; s++) {
            int r = s % rows;
            System.arraycopy(src, r * perRow, out, s * perRow, perRow);
            if (s >= rows) {
                Random noise = new Random(s);
                for (int i = s * perRow; i < (s + 1) * perRow; i++) {
                    out[i] = Math.max(0f, Math.min(1f, out[i] + (noise.nextFloat() - 0.5f) * 0.1f));
                }
            }
        }
        long[] shape = input.shape();
        shape[0] = samples;
        return NdArray.ofFloats(input.name(), out, shape);
    }

    private static void child(Path model, Path data, String calibrator) throws IOException {
        byte[] modelBytes = Files.readAllBytes(model);
        OnnxModel parsed = OnnxModel.parse(modelBytes);
        List<String> tensors = CalibrationRunner.allFloatActivations(parsed);
        OrtModels.environment();
        System.gc();
        NpzArchive archive = NpzArchive.read(data);
        long dataBytes = 0;
        int samples = 0;
        for (NdArray a : archive.arrays()) {
            dataBytes += a.elementCount() * a.itemSize();
            samples = a.rows();
        }
        System.gc();
        long peakLoading = status("VmHWM:");
        long before = status("VmRSS:");
        Files.writeString(Path.of("/proc/self/clear_refs"), "5", StandardCharsets.US_ASCII);
        long started = System.nanoTime();
        ActivationStatistics stats = CalibrationRunner.run(modelBytes, tensors, archive,
            CalibrationOptions.defaults().withCalibrator(calibrator), ProgressListener.NONE);
        double seconds = (System.nanoTime() - started) / 1e9;
        long peakCalibrating = status("VmHWM:");
        if (stats.ranges().size() != tensors.size()) {
            throw new IllegalStateException("calibrated " + stats.ranges().size() + " of " + tensors.size() + " tensors");
        }
        System.out.printf(Locale.ROOT, "%s%d %d %d %d %.2f%n", RESULT, samples, dataBytes,
            Math.max(peakLoading, peakCalibrating), peakCalibrating - before, seconds);
        System.exit(0);
    }

    private static long status(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException(key + " not in /proc/self/status");
    }

    /** The classpath this class was loaded with: exec:java's class loader URLs, else java.class.path. */
    private static String classpath() throws URISyntaxException {
        Set<String> parts = new LinkedHashSet<>();
        for (ClassLoader cl = Thread.currentThread().getContextClassLoader(); cl != null; cl = cl.getParent()) {
            if (cl instanceof URLClassLoader u) {
                for (URL url : u.getURLs()) {
                    if ("file".equals(url.getProtocol())) {
                        parts.add(Path.of(url.toURI()).toString());
                    }
                }
            }
        }
        if (parts.isEmpty()) {
            return System.getProperty("java.class.path");
        }
        return String.join(File.pathSeparator, parts);
    }
}
