package dev.quantflow.contracts;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code metrics.json}: the validator's measurements and verdict of one attempt, stored under the attempt's
 * validation key and referenced by its {@code AttemptRecord}. Read by the validator's best-effort choice and by
 * the exporter, which builds {@code report.json} from the chosen attempt's metrics and every attempt's row.
 *
 * @param quantized     absent when the quantized model does not run
 * @param layers        per-layer SQNR (classifiers and encoders)
 * @param outputs       output similarity (jobs judged by cosine or MSE)
 * @param quantization  the attempt's {@code summary.json}, carried along so the exporter needs no second read
 * @param baseline      the quantizer's reference model, when it made one
 * @param llm           true for causal LMs (perplexity instead of accuracy)
 * @param route         where the debug loop sent the job next: {@code export}, {@code calibration}, …
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record AttemptMetrics(
    Integer attempt,
    String method,
    AttemptRecipe recipe,
    ModelMetrics fp32,
    ModelMetrics quantized,
    Comparison comparison,
    Target target,
    Boolean passed,
    String verdict,
    List<LayerMetrics> layers,
    OutputSimilarity outputs,
    QuantizationSummary quantization,
    Baseline baseline,
    Boolean llm,
    String diagnosis,
    String route) {

    /** Metrics of an attempt without a metrics file (nothing known). */
    public static final AttemptMetrics NONE = new AttemptMetrics(null, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null, null);

    /** The measurements and verdict; layers, outputs, summary, baseline and the debug decision come later. */
    public static AttemptMetrics of(int attempt, String method, AttemptRecipe recipe, ModelMetrics fp32,
                                    ModelMetrics quantized, Comparison comparison, Target target, boolean passed,
                                    String verdict, boolean llm) {
        return new AttemptMetrics(attempt, method, recipe, fp32, quantized, comparison, target, passed, verdict, null, null,
            null, null, llm ? Boolean.TRUE : null, null, null);
    }

    public AttemptMetrics withLayers(List<LayerMetrics> perLayer) {
        return new AttemptMetrics(attempt, method, recipe, fp32, quantized, comparison, target, passed, verdict, perLayer,
            outputs, quantization, baseline, llm, diagnosis, route);
    }

    public AttemptMetrics withOutputs(OutputSimilarity similarity) {
        return new AttemptMetrics(attempt, method, recipe, fp32, quantized, comparison, target, passed, verdict, layers,
            similarity, quantization, baseline, llm, diagnosis, route);
    }

    public AttemptMetrics withQuantization(QuantizationSummary summary) {
        return new AttemptMetrics(attempt, method, recipe, fp32, quantized, comparison, target, passed, verdict, layers,
            outputs, summary, baseline, llm, diagnosis, route);
    }

    public AttemptMetrics withBaseline(Baseline reference) {
        return new AttemptMetrics(attempt, method, recipe, fp32, quantized, comparison, target, passed, verdict, layers,
            outputs, quantization, reference, llm, diagnosis, route);
    }

    /** The debug loop's decision: why it missed (empty on a pass) and where the job goes next. */
    public AttemptMetrics withDecision(String why, String next) {
        return new AttemptMetrics(attempt, method, recipe, fp32, quantized, comparison, target, passed, verdict, layers,
            outputs, quantization, baseline, llm, why, next);
    }

    /** Whether these are a causal LM's metrics. */
    @JsonIgnore // a helper, not a key: Jackson would otherwise write it as one
    public boolean isLlm() {
        return Boolean.TRUE.equals(llm);
    }
}
