package dev.quantflow.contracts;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code report.json}: a finished job, written by the exporter (hardware profiles added later by its profile
 * collector), served by intake and printed by the CLI ({@code --json} prints it as is). A user-facing contract:
 * {@code schemas/json/report.schema.json} describes it and the build checks that the schema only grows
 * (see {@code schemas/README.md}).
 *
 * @param state            {@code READY}, or {@code FAILED} for a best-effort export
 * @param bestEffortReason why the budget ran out; empty when the target was met
 * @param precision        the quantized column's label: {@code INT8}, {@code INT4}, {@code W3A8}, {@code FP16}, …
 * @param chosenAttempt    the attempt whose model was exported
 * @param fp32             the chosen attempt's fp32 measurements
 * @param quantized        the chosen attempt's quantized measurements
 * @param training         QAT: the fine-tuning run
 * @param hardware         hardware class → model label ({@code fp32}, {@code quantized}) → profile
 * @param preparation      what intake's model preparation changed before the job ran (the model every stage used)
 * @param stages           every stage run of the job up to the export: its service, duration and peak memory
 * @param traceId          the job's OpenTelemetry trace id (look the job up in Jaeger/Tempo when tracing is exported)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Report(
    String jobId,
    String name,
    String state,
    Boolean bestEffort,
    String bestEffortReason,
    String method,
    String methodReason,
    String precision,
    Boolean meetsTarget,
    String finishedAt,
    Integer chosenAttempt,
    List<Attempt> attempts,
    ModelMetrics fp32,
    ModelMetrics quantized,
    Comparison comparison,
    Target target,
    String verdict,
    Quantization quantization,
    List<LayerMetrics> layers,
    OutputSimilarity outputs,
    Baseline baseline,
    Boolean llm,
    Training training,
    List<ArtifactEntry> artifacts,
    Map<String, Map<String, HardwareProfile>> hardware,
    Preparation preparation,
    List<StageRun> stages,
    String traceId) {

    /**
     * One row of the attempt history.
     *
     * @param precision the attempt's output precision (its method at its weight bits: INT8, INT4, W4A8, FP16 …)
     * @param pareto    on the Pareto set over (quality ↑, size ↓, batch-1 latency ↓)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Attempt(Integer attempt, Boolean passed, String verdict, AttemptRecipe recipe, Double quantizedAccuracy,
                          Double top1Agreement, Long quantizedSizeBytes, Double quantizedLatencyBatch1P50Ms,
                          Double quantizedPerplexity, Double baselinePerplexity, String method, String precision,
                          String diagnosis, String route, Boolean pareto) {

        public Attempt withPareto(boolean onParetoSet) {
            return new Attempt(attempt, passed, verdict, recipe, quantizedAccuracy, top1Agreement, quantizedSizeBytes,
                quantizedLatencyBatch1P50Ms, quantizedPerplexity, baselinePerplexity, method, precision, diagnosis, route,
                onParetoSet);
        }
    }

    /**
     * What the quantizer did in the chosen attempt.
     *
     * @param isa static, dynamic, QAT: the CPU class the recipe was made for ({@code quantization.isa})
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Quantization(AttemptRecipe recipe, List<NodeDecision> quantizedNodes, List<NodeDecision> keptFloatNodes,
                               QuantizationSummary.SmoothQuant smoothQuant, IsaSummary isa) {
    }

    /** QAT's fine-tuning run, from the quantizer's summary. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Training(Integer weightBits, Boolean perChannelWeights, Boolean learnedScales, Integer steps,
                           Integer batchSize, Double learningRate, Integer trainingSamples, Boolean labelsUsed,
                           Double seconds, Double stepsPerSecond, Double finalLoss,
                           List<QuantizationSummary.LossPoint> lossCurve) {

        public static Training of(QuantizationSummary s) {
            return new Training(s.weightBits(), s.perChannelWeights(), s.learnedScales(), s.steps(), s.batchSize(),
                s.learningRate(), s.trainingSamples(), s.labelsUsed(), s.seconds(), s.stepsPerSecond(), s.finalLoss(),
                s.lossCurve());
        }
    }

    /**
     * One stage run (one event worked on by one stage's service).
     *
     * @param seconds      its wall time
     * @param peakRssBytes peak resident memory of the service's process during the run (Linux VmHWM); absent when
     *                     unknown
     * @param outcome      {@code ok}, {@code failed}, {@code abandoned}, or {@code running} (the export itself, and
     *                     a run whose end was not noted: its figures are those at hand-off)
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record StageRun(String stage, String service, Integer attempt, String startedAt, Double seconds,
                           Long peakRssBytes, String outcome) {
    }

    /** One output file (also the manifest's entry shape). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ArtifactEntry(String name, String key, String sha256, Long size, String mediaType) {
    }

    /**
     * One model profiled on one hardware class by the hardware-profiler.
     *
     * @param energyUnavailable why energy per inference is absent (no RAPL counters, …)
     * @param profileKey        the store key of the profiler's full report
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record HardwareProfile(String cpuModel, Integer logicalCores, String arch, String gpu, List<String> cpuFeatures,
                                  List<FormatLevel> formats, Integer intraOpThreads, Integer batchSize, Double latencyP50Ms,
                                  Double latencyP95Ms, Double latencyP99Ms, Integer throughputBatchSize,
                                  Double throughputSamplesPerSecond, Double peakMemoryMb, Double energyJoulesPerInference,
                                  String energyUnavailable, String profileKey) {
    }

    /** How well a hardware class supports a number format ({@code int8}, {@code fp16}, …). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record FormatLevel(String format, String level, String note) {
    }

    public Report withArtifacts(List<ArtifactEntry> files) {
        return new Report(jobId, name, state, bestEffort, bestEffortReason, method, methodReason, precision, meetsTarget,
            finishedAt, chosenAttempt, attempts, fp32, quantized, comparison, target, verdict, quantization, layers, outputs,
            baseline, llm, training, files, hardware, preparation, stages, traceId);
    }

    /** This report with one more (or a replaced) profile: {@code hardware.<hardwareClass>.<label>}. */
    public Report withHardwareProfile(String hardwareClass, String label, HardwareProfile profile) {
        Map<String, Map<String, HardwareProfile>> all = new LinkedHashMap<>();
        if (hardware != null) {
            hardware.forEach((c, byLabel) -> all.put(c, new LinkedHashMap<>(byLabel)));
        }
        all.computeIfAbsent(hardwareClass, c -> new LinkedHashMap<>()).put(label, profile);
        return new Report(jobId, name, state, bestEffort, bestEffortReason, method, methodReason, precision, meetsTarget,
            finishedAt, chosenAttempt, attempts, fp32, quantized, comparison, target, verdict, quantization, layers, outputs,
            baseline, llm, training, artifacts, all, preparation, stages, traceId);
    }

    /** This report with the model preparation section. */
    public Report withPreparation(Preparation section) {
        return new Report(jobId, name, state, bestEffort, bestEffortReason, method, methodReason, precision, meetsTarget,
            finishedAt, chosenAttempt, attempts, fp32, quantized, comparison, target, verdict, quantization, layers, outputs,
            baseline, llm, training, artifacts, hardware, section, stages, traceId);
    }

    /** This report with its stage runs. */
    public Report withStages(List<StageRun> runs) {
        return new Report(jobId, name, state, bestEffort, bestEffortReason, method, methodReason, precision, meetsTarget,
            finishedAt, chosenAttempt, attempts, fp32, quantized, comparison, target, verdict, quantization, layers, outputs,
            baseline, llm, training, artifacts, hardware, preparation, runs, traceId);
    }

    /** This report with the job's trace id ("" or null: none). */
    public Report withTraceId(String id) {
        return new Report(jobId, name, state, bestEffort, bestEffortReason, method, methodReason, precision, meetsTarget,
            finishedAt, chosenAttempt, attempts, fp32, quantized, comparison, target, verdict, quantization, layers, outputs,
            baseline, llm, training, artifacts, hardware, preparation, stages, id == null || id.isEmpty() ? null : id);
    }

    /** Whether this is a causal LM's report (perplexity instead of accuracy). */
    @JsonIgnore // a helper, not a key: Jackson would otherwise write it as one
    public boolean isLlm() {
        return Boolean.TRUE.equals(llm);
    }
}
