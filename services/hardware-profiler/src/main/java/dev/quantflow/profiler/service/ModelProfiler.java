package dev.quantflow.profiler.service;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.quantflow.runtime.ModelRunException;
import dev.quantflow.runtime.eval.IsolatedMemoryProbe;
import dev.quantflow.runtime.npz.NpzArchive;
import dev.quantflow.runtime.session.OrtModels;

/**
 * Measures a model on this host with ONNX Runtime (CPU, all graph optimizations, as a deployment runs it) on
 * synthetic inputs ({@link InputSynthesizer}).
 *
 * <p>Two timed series: {@code measuredRuns} runs at the latency batch and {@code measuredRuns} runs at the
 * throughput batch, each after {@code warmupRuns} untimed runs. Each run is timed with {@link System#nanoTime()}
 * around {@code session.run} including output retrieval; input tensors are built once before the series, so
 * tensor creation is not charged. Throughput = (runs · throughput batch) / Σ run times. Energy (when RAPL can be read)
 * is the package energy over the throughput series divided by its samples. Peak memory comes from
 * {@link IsolatedMemoryProbe} (a fresh JVM: resident memory added by loading and running the model once at the
 * latency batch).
 */
public final class ModelProfiler {

    private final HardwareFeatures hardware;
    private final String hardwareClass;
    private final EnergyMeter energy;

    public ModelProfiler(HardwareFeatures hardware, String hardwareClass, EnergyMeter energy) {
        this.hardware = hardware;
        this.hardwareClass = hardwareClass;
        this.energy = energy;
    }

    /** A profiler for this host, named by its derived hardware class. */
    public static ModelProfiler forThisHost() {
        HardwareFeatures hw = HardwareFeatures.detect();
        return new ModelProfiler(hw, hw.hardwareClass(), EnergyMeter.system());
    }

    public HardwareFeatures hardware() {
        return hardware;
    }

    public String hardwareClass() {
        return hardwareClass;
    }

    /**
     * @throws ModelRunException       when ONNX Runtime rejects or fails to run the model
     * @throws IllegalArgumentException when the inputs cannot be synthesized (non-tensor, scalar, string inputs)
     */
    public ModelProfile profile(byte[] modelBytes, ProfileOptions options) {
        try (OrtSession session = OrtModels.createSession(modelBytes, options.intraOpThreads(),
            OrtSession.SessionOptions.OptLevel.ALL_OPT)) {
            List<InputSynthesizer.InputSpec> specs = InputSynthesizer.specsOf(session);
            boolean text = InputSynthesizer.isText(specs);
            int requestedThroughput = options.throughputBatchSize() != null ? options.throughputBatchSize()
                : text ? ProfileOptions.TEXT_THROUGHPUT_BATCH : ProfileOptions.VISION_THROUGHPUT_BATCH;
            int latencyBatch = InputSynthesizer.batchFor(specs, options.batchSize());
            int throughputBatch = InputSynthesizer.batchFor(specs, requestedThroughput);
            int rows = Math.max(latencyBatch, throughputBatch);
            NpzArchive data = InputSynthesizer.synthesize(specs, rows, options.sequenceLength(), options.vocabSize(),
                options.seed());

            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (var s : specs) {
                shapes.put(s.name(), InputSynthesizer.concreteShape(s, latencyBatch, options.sequenceLength()));
            }

            LatencyStats latency;
            try (OrtModels.InputBatch in = OrtModels.feed(session, data, 0, latencyBatch)) {
                latency = LatencyStats.of(timeRuns(session, in, options.warmupRuns(), options.measuredRuns()));
            }
            LatencyStats throughputLatency;
            double samplesPerSecond;
            ModelProfile.Energy energyResult;
            try (OrtModels.InputBatch in = OrtModels.feed(session, data, 0, throughputBatch)) {
                timeRuns(session, in, options.warmupRuns(), 0);
                EnergyMeter.Reading before = energy.available() ? energy.read() : null;
                double[] times = timeRuns(session, in, 0, options.measuredRuns());
                EnergyMeter.Reading after = energy.available() ? energy.read() : null;
                throughputLatency = LatencyStats.of(times);
                double totalMs = 0;
                for (double t : times) {
                    totalMs += t;
                }
                long samples = (long) throughputBatch * times.length;
                samplesPerSecond = samples / (totalMs / 1000.0);
                energyResult = before == null
                    ? new ModelProfile.Energy(false, null, energy.unavailableReason().orElse("unknown"))
                    : new ModelProfile.Energy(true, energy.joulesBetween(before, after) / samples, null);
            }

            Double peakMb = null;
            String memoryNote;
            if (options.measureMemory()) {
                Optional<Double> mb = IsolatedMemoryProbe.measureMb(modelBytes,
                    data.slice(data.names(), 0, latencyBatch), options.intraOpThreads());
                peakMb = mb.orElse(null);
                memoryNote = mb.isPresent()
                    ? "VmHWM - VmRSS of a fresh JVM after loading ONNX Runtime: session creation + 2 runs at batch " + latencyBatch
                    : "a child JVM could not be started or measured here (no /proc, classes not in plain files, or the run failed)";
            } else {
                memoryNote = "not measured (measureMemory=false)";
            }
            return new ModelProfile(hardwareClass, hardware, hardware.nativeFormats(), options, shapes, text, latencyBatch,
                latency, throughputBatch, throughputLatency, samplesPerSecond, peakMb, memoryNote, energyResult);
        } catch (OrtException e) {
            throw new ModelRunException("cannot close the ONNX Runtime session: " + e.getMessage(), e);
        }
    }

    /** Runs {@code warmup} untimed then {@code measured} timed inferences; milliseconds per timed run. */
    private static double[] timeRuns(OrtSession session, OrtModels.InputBatch in, int warmup, int measured) {
        double[] times = new double[measured];
        try {
            for (int i = 0; i < warmup; i++) {
                try (OrtSession.Result r = session.run(in.tensors())) {
                    r.size();
                }
            }
            for (int i = 0; i < measured; i++) {
                long t0 = System.nanoTime();
                try (OrtSession.Result r = session.run(in.tensors())) {
                    r.size();
                }
                times[i] = (System.nanoTime() - t0) / 1e6;
            }
        } catch (OrtException e) {
            throw new ModelRunException("ONNX Runtime failed to run the model: " + e.getMessage(), e);
        }
        return times;
    }
}
