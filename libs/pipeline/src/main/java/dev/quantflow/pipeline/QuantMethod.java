package dev.quantflow.pipeline;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import dev.quantflow.events.QuantizeRequested;

/**
 * The one registry of quantization methods: what each method is, which pool runs it, what it needs and what it
 * produces. Every stage asks this enum instead of comparing method strings, so a method unknown to the code is a
 * compile error; the only strings are the wire names carried in the Avro {@code JobPlan.method} and
 * {@code AttemptRecord.method} fields, turned into a constant once by {@link #of(String)}.
 *
 * <p>Calibration: {@link Calibration#REQUIRED} methods always run the calibration stage first (static ranges, the
 * layer-input statistics of GPTQ/AWQ); {@link Calibration#OPTIONAL} ones run it only when the job brings calibration
 * data (dynamic INT8: SmoothQuant's per-channel maxima); {@link Calibration#NONE} never. Two methods with the same
 * {@link #statistics()} kind can share one calibration artifact (GPTQ and AWQ both read layer-input statistics).
 */
public enum QuantMethod {

    /** Static INT8 PTQ: calibrated activation ranges, per-channel int8 weights, QDQ. */
    STATIC("static", Family.STATIC_PTQ, Topics.QUANTIZE_STATIC, "quantizer-static", Calibration.REQUIRED,
        Statistics.ACTIVATION_RANGES, DataForm.MODEL_INPUTS, false, 8, Set.of(8), 0),
    /** Dynamic INT8: weights ahead of time, activations at run time; SmoothQuant first when calibration data came. */
    DYNAMIC("dynamic", Family.DYNAMIC_PTQ, Topics.QUANTIZE_DYNAMIC, "quantizer-dynamic", Calibration.OPTIONAL,
        Statistics.CHANNEL_ABS_MAX, DataForm.MODEL_INPUTS, false, 8, Set.of(8), 0),
    /** FP16 cast with a numerics block-list. */
    FP16("fp16", Family.CAST, Topics.QUANTIZE_CAST, "quantizer-cast", Calibration.NONE, Statistics.NONE,
        DataForm.MODEL_INPUTS, false, 16, Set.of(16), 0),
    /** BF16 cast. */
    BF16("bf16", Family.CAST, Topics.QUANTIZE_CAST, "quantizer-cast", Calibration.NONE, Statistics.NONE,
        DataForm.MODEL_INPUTS, false, 16, Set.of(16), 0),
    /** 4-bit weight-only GPTQ (Hessian error feedback from layer-input statistics). */
    GPTQ("gptq", Family.LLM_WEIGHT_ONLY, Topics.QUANTIZE_GPTQ, "quantizer-gptq", Calibration.REQUIRED,
        Statistics.LAYER_INPUTS, DataForm.TOKENS, false, 4, Set.of(2, 4, 8), 128),
    /** 4-bit weight-only AWQ (activation-aware per-channel scales from layer-input statistics). */
    AWQ("awq", Family.LLM_WEIGHT_ONLY, Topics.QUANTIZE_AWQ, "quantizer-awq", Calibration.REQUIRED,
        Statistics.LAYER_INPUTS, DataForm.TOKENS, false, 4, Set.of(2, 4, 8), 128),
    /** Round-to-nearest 4-bit weight-only: the LLM baseline, needs no calibration. */
    RTN("rtn", Family.LLM_WEIGHT_ONLY, Topics.QUANTIZE_RTN, "quantizer-rtn", Calibration.NONE, Statistics.NONE,
        DataForm.TOKENS, false, 4, Set.of(2, 4, 8), 128),
    /** Quantization-aware training: fake-quant fine-tuning on training data, QDQ export (8-bit activations). */
    QAT("qat", Family.QAT, Topics.QUANTIZE_QAT, "quantizer-qat", Calibration.NONE, Statistics.NONE,
        DataForm.MODEL_INPUTS, true, 8, Set.of(2, 3, 4, 5, 6, 7, 8), 0);

    /** The workflow branch a method belongs to. */
    public enum Family {
        STATIC_PTQ, DYNAMIC_PTQ, CAST, LLM_WEIGHT_ONLY, QAT
    }

    /** Whether the calibration stage runs before the quantizer. */
    public enum Calibration {
        REQUIRED, OPTIONAL, NONE
    }

    /** What the calibration stage collects for a method (and which methods can share it). */
    public enum Statistics {
        ACTIVATION_RANGES, CHANNEL_ABS_MAX, LAYER_INPUTS, NONE
    }

    /** What calibration and validation data look like: one array per model input, or token ids of a causal LM. */
    public enum DataForm {
        MODEL_INPUTS, TOKENS
    }

    private final String wireName;
    private final Family family;
    private final Topics.Topic<QuantizeRequested> topic;
    private final String pool;
    private final Calibration calibration;
    private final Statistics statistics;
    private final DataForm dataForm;
    private final boolean needsTrainingData;
    private final int defaultBits;
    private final Set<Integer> allowedBits;
    private final int defaultBlockSize;

    QuantMethod(String wireName, Family family, Topics.Topic<QuantizeRequested> topic, String pool, Calibration calibration,
                Statistics statistics, DataForm dataForm, boolean needsTrainingData, int defaultBits,
                Set<Integer> allowedBits, int defaultBlockSize) {
        this.wireName = wireName;
        this.family = family;
        this.topic = topic;
        this.pool = pool;
        this.calibration = calibration;
        this.statistics = statistics;
        this.dataForm = dataForm;
        this.needsTrainingData = needsTrainingData;
        this.defaultBits = defaultBits;
        this.allowedBits = allowedBits;
        this.defaultBlockSize = defaultBlockSize;
    }

    /** The name in events, the API and the CLI ({@code static}, {@code gptq} …). */
    public String wireName() {
        return wireName;
    }

    public Family family() {
        return family;
    }

    /** The topic of the worker pool that runs this method. */
    public Topics.Topic<QuantizeRequested> topic() {
        return topic;
    }

    /** The pool (service name and consumer group) that runs this method. */
    public String pool() {
        return pool;
    }

    public Calibration calibration() {
        return calibration;
    }

    public Statistics statistics() {
        return statistics;
    }

    public DataForm dataForm() {
        return dataForm;
    }

    public boolean needsTrainingData() {
        return needsTrainingData;
    }

    /** A job that names this method must bring calibration data. */
    public boolean requiresCalibrationData() {
        return calibration == Calibration.REQUIRED;
    }

    /** Whether a job of this method goes through the calibration stage, given whether it has calibration data. */
    public boolean calibrates(boolean calibrationDataGiven) {
        return switch (calibration) {
            case REQUIRED -> true;
            case OPTIONAL -> calibrationDataGiven;
            case NONE -> false;
        };
    }

    /** The 4-bit weight-only path of causal LMs (token data, perplexity validation). */
    public boolean isLlm() {
        return family == Family.LLM_WEIGHT_ONLY;
    }

    /** Weight bits when the request names none. */
    public int defaultBits() {
        return defaultBits;
    }

    /** Weight bits this method's pool can produce. */
    public Set<Integer> allowedBits() {
        return allowedBits;
    }

    public boolean allowsBits(int bits) {
        return allowedBits.contains(bits);
    }

    /** LLM weight-only: input rows per quantization block when the request names none; 0 for other methods. */
    public int defaultBlockSize() {
        return defaultBlockSize;
    }

    /**
     * The precision of the method's output at the given weight bits, as people write it: INT8 (static, dynamic,
     * 8-bit QAT), INT4 / INT8 / INT2 (weight-only LLM), W4A8 (QAT with 4-bit weights and 8-bit activations), FP16, BF16.
     */
    public String precisionLabel(int bits) {
        return switch (family) {
            case STATIC_PTQ, DYNAMIC_PTQ -> "INT8";
            case CAST -> wireName.toUpperCase(Locale.ROOT);
            case LLM_WEIGHT_ONLY -> "INT" + bits;
            case QAT -> bits == 8 ? "INT8" : "W" + bits + "A8";
        };
    }

    /** The method of a wire name (case and surrounding blanks ignored), or empty when there is none. */
    public static Optional<QuantMethod> of(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String n = name.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(m -> m.wireName.equals(n)).findFirst();
    }

    /**
     * The method a plan names. A plan is made by intake from this registry, so an unknown name here is a corrupt or
     * foreign event: a permanent error with the reason code UNSUPPORTED_METHOD.
     */
    public static QuantMethod fromPlan(String name) {
        return of(name).orElseThrow(() -> new PermanentStageException(ReasonCodes.UNSUPPORTED_METHOD,
            "unknown quantization method '" + name + "'; known: " + String.join(", ", wireNames())));
    }

    /** Every wire name, in declaration order. */
    public static List<String> wireNames() {
        return Arrays.stream(values()).map(QuantMethod::wireName).toList();
    }

    /** The methods of the given topic's pool. */
    public static Set<QuantMethod> onTopic(Topics.Topic<QuantizeRequested> topic) {
        return Arrays.stream(values()).filter(m -> m.topic.equals(topic)).collect(Collectors.toUnmodifiableSet());
    }

    /**
     * The method of a plan that reached the pool of {@code topic}: a pool runs only its own methods, and an event for
     * another one (a mis-routed or forged record) is a permanent UNSUPPORTED_METHOD failure that names both.
     */
    public static QuantMethod acceptedOn(Topics.Topic<QuantizeRequested> topic, String planMethod) {
        QuantMethod m = fromPlan(planMethod);
        if (!m.topic.equals(topic)) {
            throw new PermanentStageException(ReasonCodes.UNSUPPORTED_METHOD, "the pool of " + topic.name() + " runs "
                + onTopic(topic).stream().map(QuantMethod::wireName).sorted().collect(Collectors.joining(", "))
                + ", not " + m + " (which " + m.pool() + " runs)");
        }
        return m;
    }

    /** Wire names of a list of methods (for the Avro plan). */
    public static List<String> wireNames(List<QuantMethod> methods) {
        return methods.stream().map(QuantMethod::wireName).toList();
    }

    @Override
    public String toString() {
        return wireName;
    }
}
