package dev.quantflow.intake.service;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import dev.quantflow.contracts.JobOptions;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.EventHeader;
import dev.quantflow.events.JobContext;
import dev.quantflow.events.JobInputs;
import dev.quantflow.events.JobPlan;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.Recipe;
import dev.quantflow.intake.auth.ReferenceScope;
import dev.quantflow.intake.auth.Tenants;
import dev.quantflow.intake.config.IntakeConfig;
import dev.quantflow.onnx.OnnxModel;
import dev.quantflow.pipeline.EventHeaders;
import dev.quantflow.pipeline.JobMdc;
import dev.quantflow.pipeline.JobTracing;
import dev.quantflow.pipeline.JobStates;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.EventPublisher;
import dev.quantflow.pipeline.quarkus.ServiceIdentity;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.ArtifactStore;
import dev.quantflow.pipeline.store.StoreException;
import dev.quantflow.quant.isa.IsaClass;

/**
 * Accepts jobs: validates every input first, stores what was uploaded, then starts the job with one
 * {@code CalibrationRequested} event. If anything fails after the first object was stored, what was stored is
 * deleted again: a refused job leaves nothing behind.
 */
@ApplicationScoped
public class JobSubmitter {

    private static final Logger LOG = Logger.getLogger(JobSubmitter.class);


    @Inject
    ArtifactStore store;
    @Inject
    EventPublisher publisher;
    @Inject
    ServiceIdentity identity;
    @Inject
    IntakeConfig config;
    @Inject
    JobProjection projection;
    @Inject
    IntakeMetrics metrics = IntakeMetrics.NONE;

    /**
     * Uploaded bytes of one job. Calibration data is required by static PTQ; validation data by every method. Data
     * may be .npz or text (plain lines / JSONL, named by {@code *FileName}) with the model's {@code tokenizer}.
     */
    public record Upload(byte[] model, byte[] calibration, byte[] validation, byte[] tokenizer, String calibrationFileName,
                         String validationFileName, byte[] training) {

        public Upload(byte[] model, byte[] calibration, byte[] validation) {
            this(model, calibration, validation, null, null, null, null);
        }

        public Upload(byte[] model, byte[] calibration, byte[] validation, byte[] tokenizer, String calibrationFileName,
                      String validationFileName) {
            this(model, calibration, validation, tokenizer, calibrationFileName, validationFileName, null);
        }
    }

    /** Calibration, validation and training data in the form the stages read (.npz), after conversion and checks. */
    private record Prepared(byte[] calibration, byte[] validation, byte[] training) {
    }

    /**
     * Converts text to token arrays and checks every dataset against the model. Causal-LM jobs take token streams
     * ({@link LlmInputs}); every other method takes one array per model input.
     */
    private static Prepared prepare(OnnxModel parsed, JobPlan plan, byte[] calibration, String calibrationName,
                                    byte[] validation, String validationName, byte[] training, byte[] tokenizer) {
        if (QuantMethod.fromPlan(plan.getMethod()).dataForm() == QuantMethod.DataForm.TOKENS) {
            byte[] calib = calibration == null ? null : LlmInputs.calibrationNpz(parsed, calibration, calibrationName, tokenizer);
            byte[] valid = LlmInputs.validationNpz(parsed, validation, validationName, tokenizer);
            return new Prepared(calib, valid, null);
        }
        byte[] calibNpz = TextInputs.toNpz(parsed, calibration, calibrationName, tokenizer, "calibration data");
        byte[] validNpz = TextInputs.toNpz(parsed, validation, validationName, tokenizer, "validation data");
        validate(parsed, calibNpz, validNpz);
        if (training != null) {
            if (!TextInputs.isNpz(training)) {
                throw new RejectedInputException(422, ReasonCodes.INVALID_DATASET,
                    "training data must be an .npz (one array per model input, optional 'labels')");
            }
            InputValidator.checkDataset(parsed, training, "training data");
        }
        return new Prepared(calibNpz, validNpz, training);
    }

    /** REST multipart path: validate, store, start a job of {@code tenant}. */
    public String submitUpload(String tenant, Upload upload, JobOptions options) {
        JobMdc.set(null, Stages.INTAKE);
        try {
            String jobId = validateStoreStart(tenant, upload, options);
            metrics.submitted();
            return jobId;
        } catch (RejectedInputException e) {
            metrics.refused(e.code());
            throw e;
        } finally {
            JobMdc.clear();
        }
    }

    private String validateStoreStart(String tenant, Upload upload, JobOptions options) {
        requireInputs(upload.model() != null, upload.validation() != null);
        MethodSelection.Inputs given = new MethodSelection.Inputs(upload.calibration() != null, upload.training() != null,
            options.allowRetraining());
        plan(options, null, given); // refuse bad options before the (slower) model and data checks
        OnnxModel uploaded = InputValidator.checkModel(upload.model(), config.workerMemoryBudget().asLongValue());
        // every stage, method selection included, sees the prepared model
        ModelIntakePreparation.Outcome prepared = ModelIntakePreparation.prepare(upload.model(), uploaded,
            new ModelIntakePreparation.Data(upload.calibration(), upload.calibrationFileName(), upload.validation(),
                upload.validationFileName(), upload.tokenizer()), MethodSelection.requested(options.method()).isEmpty());
        OnnxModel parsed = prepared.model();
        Map<String, long[]> shapes = prepared.shapes(); // shapes for MethodSelection's MAC estimate
        JobPlan plan = plan(options, parsed, given, shapes);
        Prepared data = prepare(parsed, plan, upload.calibration(), upload.calibrationFileName(), upload.validation(),
            upload.validationFileName(), upload.training(), upload.tokenizer());
        byte[] calibNpz = data.calibration();
        byte[] validNpz = data.validation();
        String jobId = newJobId(tenant);
        JobMdc.set(jobId, Stages.INTAKE);
        List<String> stored = new ArrayList<>();
        try {
            ArtifactRef original = put(stored, ArtifactKeys.input(jobId, "model.onnx"), upload.model(), "application/onnx");
            PreparedRefs models = storePrepared(stored, jobId, original, prepared);
            ArtifactRef model = models.model();
            ArtifactRef calib = calibNpz == null ? null
                : put(stored, ArtifactKeys.input(jobId, "calibration.npz"), calibNpz, "application/x-npz");
            ArtifactRef valid = put(stored, ArtifactKeys.input(jobId, "validation.npz"), validNpz, "application/x-npz");
            ArtifactRef tokenizer = upload.tokenizer() == null ? null
                : put(stored, ArtifactKeys.input(jobId, "tokenizer.json"), upload.tokenizer(), "application/json");
            ArtifactRef training = data.training() == null ? null
                : put(stored, ArtifactKeys.input(jobId, "training.npz"), data.training(), "application/x-npz");
            JobInputs inputs = JobInputs.newBuilder().setName(nameOr(options.name(), jobId)).setModel(model)
                .setCalibration(calib).setValidation(valid).setTokenizer(tokenizer).setTraining(training)
                .setOriginalModel(models.originalModel()).setPreparation(models.preparation()).build();
            start(EventHeaders.fresh(jobId, 1, identity.name(), identity.version()), inputs, plan);
            return jobId;
        } catch (StoreException | RuntimeException e) {
            rollback(stored);
            if (e instanceof RejectedInputException r) {
                throw r;
            }
            LOG.errorf(e, "cannot accept job %s", jobId);
            throw new RejectedInputException(503, ReasonCodes.STAGE_ERROR,
                "the job could not be stored or started (" + e.getMessage() + "); nothing was kept, try again");
        }
    }

    /** Reference path (REST JSON or a Kafka request): inputs already in the store. */
    public void submitReferences(EventHeader header, JobInputs requested, JobOptions options) {
        JobMdc.set(header.getJobId(), Stages.INTAKE);
        try {
            resolveCheckStart(header, requested, options);
            metrics.submitted();
        } catch (RejectedInputException e) {
            metrics.refused(e.code());
            throw e;
        } finally {
            JobMdc.clear();
        }
    }

    private void resolveCheckStart(EventHeader header, JobInputs requested, JobOptions options) {
        requireInputs(requested.getModel() != null, requested.getValidation() != null);
        String tenant = Tenants.ofJob(header.getJobId()).orElseThrow(() -> new RejectedInputException(403,
            ReasonCodes.FORBIDDEN_REFERENCE, "job id '" + header.getJobId() + "' names no tenant (ids are <tenant>.job-<uuid>)"));
        for (ArtifactRef ref : new ArtifactRef[] {requested.getModel(), requested.getCalibration(), requested.getValidation(),
            requested.getTokenizer(), requested.getTraining()}) {
            if (ref != null) {
                ReferenceScope.check(tenant, store.bucket(), ref.getBucket(), ref.getKey());
            }
        }
        MethodSelection.Inputs given = new MethodSelection.Inputs(requested.getCalibration() != null,
            requested.getTraining() != null, options.allowRetraining());
        plan(options, null, given);
        ArtifactRef model = resolve(requested.getModel(), "model", "application/onnx");
        ArtifactRef calib = requested.getCalibration() == null ? null
            : resolve(requested.getCalibration(), "calibration data", "application/x-npz");
        ArtifactRef valid = resolve(requested.getValidation(), "validation data", "application/x-npz");
        ArtifactRef tokenizer = requested.getTokenizer() == null ? null
            : resolve(requested.getTokenizer(), "tokenizer", "application/json");
        ArtifactRef training = requested.getTraining() == null ? null
            : resolve(requested.getTraining(), "training data", "application/x-npz");
        byte[] modelBytes = load(model, "model");
        OnnxModel uploaded = InputValidator.checkModel(modelBytes, config.workerMemoryBudget().asLongValue());
        byte[] calibBytes = calib == null ? null : load(calib, "calibration data");
        byte[] validBytes = load(valid, "validation data");
        byte[] tokenizerJson = tokenizer == null ? null : load(tokenizer, "tokenizer");
        // every stage, method selection included, sees the prepared model
        ModelIntakePreparation.Outcome prepared = ModelIntakePreparation.prepare(modelBytes, uploaded,
            new ModelIntakePreparation.Data(calibBytes, calib == null ? null : calib.getKey(), validBytes, valid.getKey(),
                tokenizerJson), MethodSelection.requested(options.method()).isEmpty());
        OnnxModel parsed = prepared.model();
        Map<String, long[]> shapes = prepared.shapes(); // shapes for MethodSelection's MAC estimate
        JobPlan plan = plan(options, parsed, given, shapes);
        byte[] trainingBytes = training == null ? null : load(training, "training data");
        // Text data (lines / JSONL named by the object key) is tokenized here, like on the REST path.
        Prepared data = prepare(parsed, plan, calibBytes, calib == null ? null : calib.getKey(), validBytes, valid.getKey(),
            trainingBytes, tokenizerJson);
        byte[] calibNpz = data.calibration();
        byte[] validNpz = data.validation();
        List<String> stored = new ArrayList<>();
        try {
            PreparedRefs models = storePrepared(stored, header.getJobId(), model, prepared);
            if (calibNpz != calibBytes) {
                calib = put(stored, ArtifactKeys.input(header.getJobId(), "calibration.npz"), calibNpz, "application/x-npz");
            }
            if (validNpz != validBytes) {
                valid = put(stored, ArtifactKeys.input(header.getJobId(), "validation.npz"), validNpz, "application/x-npz");
            }
            JobInputs inputs = JobInputs.newBuilder(requested).setName(nameOr(options.name(), header.getJobId()))
                .setModel(models.model()).setCalibration(calib).setValidation(valid).setTokenizer(tokenizer).setTraining(training)
                .setOriginalModel(models.originalModel()).setPreparation(models.preparation()).build();
            start(header, inputs, plan);
        } catch (StoreException | RuntimeException e) {
            rollback(stored);
            if (e instanceof RejectedInputException r) {
                throw r;
            }
            throw new RejectedInputException(503, ReasonCodes.STAGE_ERROR,
                "the job could not be stored or started (" + e.getMessage() + "); nothing was kept, try again");
        }
    }


    /** The model the stages use, the upload when preparation changed it, and preparation.json. */
    private record PreparedRefs(ArtifactRef model, ArtifactRef originalModel, ArtifactRef preparation) {
    }

    /**
     * Stores the prepared model ({@code jobs/<job>/prepared/model.onnx}, only when preparation changed the upload)
     * and what preparation did ({@code jobs/<job>/prepared/preparation.json}, the report's section).
     */
    private PreparedRefs storePrepared(List<String> stored, String jobId, ArtifactRef original,
                                       ModelIntakePreparation.Outcome prepared) throws StoreException {
        String preparedKey = ArtifactKeys.prepared(jobId, "model.onnx");
        ArtifactRef model = prepared.changed() ? put(stored, preparedKey, prepared.bytes(), "application/onnx") : original;
        ArtifactRef section = put(stored, ArtifactKeys.prepared(jobId, "preparation.json"),
            StageJson.write(prepared.withKeys(original.getKey(), preparedKey)), "application/json");
        return new PreparedRefs(model, prepared.changed() ? original : null, section);
    }

    /** {@code <tenant>.job-<uuid>}: the job id names its tenant ({@link Tenants}). */
    public static String newJobId(String tenant) {
        if (!Tenants.validName(tenant)) {
            throw new IllegalArgumentException("not a tenant name: " + tenant);
        }
        return tenant + ".job-" + UUID.randomUUID();
    }

    /** The accepted message's budget, in the job's own metric (the supervisor reads the "until" that follows it). */
    static String budget(JobPlan plan) {
        Double t = plan.getMetricThreshold();
        double drop = plan.getMaxRelativeDrop();
        return switch (plan.getMetric()) {
            case "perplexity" -> String.format(Locale.ROOT, "+%.2f%% perplexity", (t == null ? drop : t) * 100);
            case "iou" -> String.format(Locale.ROOT, "mean IoU >= %.4f%s", t == null ? 1 - drop : t,
                t == null ? " (1 - max relative drop)" : "");
            case "agreement" -> t == null
                ? String.format(Locale.ROOT, "%.2f%% relative top-1 drop (agreement >= %.4f for maps)", drop * 100, 1 - drop)
                : String.format(Locale.ROOT, "agreement >= %.4f", t);
            case "cosine", "mse" -> plan.getMetric() + (t == null ? " at the validator's default threshold"
                : String.format(Locale.ROOT, " threshold %s", t));
            default -> String.format(Locale.ROOT, "%.2f%% relative top-1 drop", drop * 100);
        };
    }

    private void start(EventHeader header, JobInputs inputs, JobPlan plan) {
        // the job's trace: a child of the submit request's span; every event below carries it to the stages
        try (var traced = JobTracing.started("intake submit", Stages.INTAKE, header.getJobId())) {
            traced.span().setAttribute(JobTracing.METHOD, plan.getMethod().toString());
            publishStart(header, inputs, plan);
        }
    }

    private void publishStart(EventHeader header, JobInputs inputs, JobPlan plan) {
        JobContext context = JobContext.newBuilder().setInputs(inputs).setPlan(plan).build();
        JobStatus accepted = JobStatus.newBuilder()
            .setHeader(EventHeaders.derived(header, 1, identity.name(), identity.version(), "accepted"))
            .setStage(Stages.INTAKE)
            .setState(JobStates.ACCEPTED)
            .setProgress(1.0)
            .setMessage("accepted: method " + plan.getMethod() + " (" + plan.getMethodReason() + "), budget "
                + budget(plan) + ", up to " + plan.getMaxAttempts() + " attempt(s) until " + plan.getDeadline())
            .build();
        projection.register(header.getJobId(), inputs.getName(), plan.getMethod(), accepted);
        publisher.publish(Topics.JOBS_STATUS, header.getJobId(), accepted);
        // e.g. dynamic INT8 runs without calibration; given calibration data, it calibrates for SmoothQuant first
        QuantMethod method = QuantMethod.fromPlan(plan.getMethod());
        if (method.calibrates(inputs.getCalibration() != null)) {
            publisher.publish(Topics.CALIBRATION_REQUESTED, header.getJobId(), CalibrationRequested.newBuilder()
                .setHeader(EventHeaders.derived(header, 1, identity.name(), identity.version(), "calibrate"))
                .setContext(context)
                .build());
        } else {
            publisher.publish(method.topic(), header.getJobId(), QuantizeRequested.newBuilder()
                .setHeader(EventHeaders.derived(header, 1, identity.name(), identity.version(), "quantize"))
                .setContext(context)
                .build());
        }
    }

    /**
     * The job's plan. With {@code model == null} only the options are checked (method names, numbers), so a bad
     * request is refused before the model is parsed.
     */
    JobPlan plan(JobOptions options, OnnxModel model, boolean hasCalibrationData) {
        return plan(options, model, new MethodSelection.Inputs(hasCalibrationData, false, options.allowRetraining()));
    }

    JobPlan plan(JobOptions options, OnnxModel model, MethodSelection.Inputs given) {
        return plan(options, model, given, Map.of());
    }

    /** @param shapes tensor shapes of {@code model} known from a run on the job's data (for auto's MAC estimate) */
    JobPlan plan(JobOptions options, OnnxModel model, MethodSelection.Inputs given, Map<String, long[]> shapes) {
        MethodSelection.Choice choice;
        // Without the model, "auto" cannot be resolved yet: only checks that hold for every method are made.
        java.util.Optional<QuantMethod> named = MethodSelection.requested(options.method()); // refuses unknown names
        boolean methodKnown = model != null || named.isPresent();
        if (model == null) {
            choice = new MethodSelection.Choice(named.orElse(QuantMethod.STATIC), "", List.of());
        } else {
            choice = MethodSelection.choose(options.method(), model, given, shapes);
        }
        QuantMethod method = choice.method();
        String reason = choice.reason();
        double drop = options.maxRelativeDrop() == null ? config.defaultMaxRelativeDrop() : options.maxRelativeDrop();
        if (!(drop >= 0 && drop < 1)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "maxRelativeDrop must be a fraction in [0, 1), e.g. 0.02 for 2%; was " + drop);
        }
        int attempts = options.maxAttempts() == null ? config.defaultMaxAttempts() : options.maxAttempts();
        if (attempts < 1 || attempts > 20) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "maxAttempts must be between 1 and 20; was " + attempts);
        }
        long budgetSeconds = options.timeBudgetSeconds() == null ? config.defaultTimeBudget().toSeconds() : options.timeBudgetSeconds();
        if (budgetSeconds < 1) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "timeBudgetSeconds must be positive; was " + budgetSeconds);
        }
        if (options.maxSizeRatio() != null && !(options.maxSizeRatio() > 0 && options.maxSizeRatio() <= 1)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "maxSizeRatio must be a fraction in (0, 1], e.g. 0.3; was " + options.maxSizeRatio());
        }
        boolean llm = method.isLlm();
        int bits = options.bits() != null ? options.bits() : method.defaultBits();
        if (methodKnown && !method.allowsBits(bits)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, bitsRefusal(method, bits));
        }
        int blockSize = options.blockSize() == null ? (method.defaultBlockSize() > 0 ? method.defaultBlockSize() : 128)
            : options.blockSize();
        if (blockSize < 16 || blockSize > 4096 || Integer.bitCount(blockSize) != 1) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "blockSize must be a power of two from 16 to 4096 (32, 64, 128 are usual); was " + blockSize);
        }
        if (options.maxLatencyMs() != null && !(options.maxLatencyMs() > 0)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "maxLatencyMs must be positive; was " + options.maxLatencyMs());
        }
        Recipe.Builder recipeBuilder = Recipe.newBuilder().setExcludedNodes(options.excludedNodes())
            .setNote(options.excludedNodes().isEmpty() ? "default recipe" : "nodes excluded by the request")
            .setBits(bits).setBlockSize(blockSize).setTargetHardwareClass(targetHardwareClass(options.targetHardwareClass()));
        if (options.trainingSteps() != null && !(options.trainingSteps() >= 1 && options.trainingSteps() <= 1_000_000)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "trainingSteps must be between 1 and 1000000; was "
                + options.trainingSteps());
        }
        if (options.learningRate() != null && !(options.learningRate() > 0 && options.learningRate() < 10)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "learningRate must be in (0, 10); was "
                + options.learningRate());
        }
        if (method.needsTrainingData() || choice.fallbacks().stream().anyMatch(QuantMethod::needsTrainingData)) {
            var training = dev.quantflow.events.TrainingParams.newBuilder();
            if (options.trainingSteps() != null) {
                training.setSteps(options.trainingSteps());
            }
            if (options.learningRate() != null) {
                training.setLearningRate(options.learningRate());
            }
            recipeBuilder.setTraining(training.build());
        }
        Recipe recipe = recipeBuilder.build();
        String metric = options.metric() == null || options.metric().isBlank() ? "auto" : options.metric().trim().toLowerCase();
        List<String> metrics = List.of("auto", "top1", "agreement", "cosine", "mse", "iou", "perplexity");
        if (!metrics.contains(metric)) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "metric must be one of " + String.join(", ", metrics) + "; was '" + options.metric() + "'");
        }
        if (llm && !(metric.equals("auto") || metric.equals("perplexity"))) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "causal-LM jobs are validated by perplexity on held-out tokens; metric was '" + metric + "'");
        }
        if (llm) {
            metric = "perplexity";
        } else if (metric.equals("perplexity") && model != null) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "metric perplexity is for causal language models (methods gptq, awq, rtn)");
        }
        if (metric.equals("mse") && options.metricThreshold() == null) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST,
                "metric mse needs metricThreshold (the largest acceptable mean squared error of the outputs)");
        }
        return JobPlan.newBuilder().setMethod(method.wireName()).setMethodReason(reason).setMaxRelativeDrop(drop)
            .setMaxAttempts(attempts).setRecipe(recipe)
            .setDeadline(java.time.Instant.now().plusSeconds(budgetSeconds))
            .setMaxSizeRatio(options.maxSizeRatio())
            .setFallbackMethods(QuantMethod.wireNames(choice.fallbacks()))
            .setMetric(metric)
            .setMetricThreshold(options.metricThreshold())
            .setAllowRetraining(options.allowRetraining())
            .setMaxLatencyMs(options.maxLatencyMs())
            .setProfileHardwareClasses(profileClasses(options.profileOn()))
            .build();
    }

    /** Why {@code bits} is refused for {@code method}, and which methods take such bits. */
    static String bitsRefusal(QuantMethod method, int bits) {
        if (method.allowedBits().size() == 1) {
            String others = Arrays.stream(QuantMethod.values()).filter(m -> m.allowsBits(bits))
                .map(m -> m + " (" + bitsList(m) + ")").collect(Collectors.joining(", "));
            return "method " + method + " quantizes to " + method.defaultBits() + " bits; bits=" + bits
                + (others.isEmpty() ? " is not a width any method produces" : " is for " + others);
        }
        return "bits for " + method + " must be " + bitsList(method) + (method.isLlm()
            ? " (what ONNX Runtime's MatMulNBits runs)" : " (weight bits; activations are 8-bit)") + "; was " + bits;
    }

    private static String bitsList(QuantMethod method) {
        List<Integer> bits = method.allowedBits().stream().sorted().toList();
        return bits.size() == 1 ? String.valueOf(bits.get(0))
            : bits.subList(0, bits.size() - 1).stream().map(String::valueOf).collect(Collectors.joining(", "))
                + " or " + bits.get(bits.size() - 1);
    }

    /**
     * The class the INT8 recipe is made for, as the quantizers name it ({@link IsaClass#id()}); empty when the
     * request names none (the quantizer's own CPU decides).
     */
    static String targetHardwareClass(String requested) {
        if (requested == null || requested.isBlank()) {
            return "";
        }
        try {
            return IsaClass.parse(requested).id();
        } catch (IllegalArgumentException e) {
            throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, "targetHardwareClass: " + e.getMessage());
        }
    }

    /** Hardware class names become topic suffixes: lower-case letters, digits and dashes only. */
    static List<String> profileClasses(List<String> classes) {
        for (String c : classes) {
            try {
                Topics.profileRequested(c); // the registry owns the naming rule of per-class topics
            } catch (IllegalArgumentException e) {
                throw new RejectedInputException(400, ReasonCodes.INVALID_REQUEST, e.getMessage()
                    + " (e.g. x86-avx2, x86-avx512-vnni, arm64-neon-dot)");
            }
        }
        return classes.stream().distinct().toList();
    }

    private static void requireInputs(boolean model, boolean validation) {
        List<String> missing = new ArrayList<>();
        if (!model) {
            missing.add("model (the ONNX file)");
        }
        if (!validation) {
            missing.add("validation (.npz, one array per model input, optional 'labels')");
        }
        if (!missing.isEmpty()) {
            throw new RejectedInputException(400, ReasonCodes.MISSING_INPUT, "missing: " + String.join("; ", missing));
        }
    }

    private static void validate(OnnxModel parsed, byte[] calibration, byte[] validation) {
        var valid = InputValidator.checkDataset(parsed, validation, "validation data");
        if (calibration != null) {
            var calib = InputValidator.checkDataset(parsed, calibration, "calibration data");
            InputValidator.checkRanges(parsed, calib, valid);
        }
    }

    private ArtifactRef resolve(ArtifactRef ref, String what, String mediaType) {
        try {
            String bucket = ref.getBucket() == null || ref.getBucket().isBlank() ? store.bucket() : ref.getBucket();
            ArtifactRef resolved = store.resolve(bucket, ref.getKey(), mediaType);
            if (ref.getSha256() != null && !ref.getSha256().equalsIgnoreCase(resolved.getSha256())) {
                throw new RejectedInputException(422, ReasonCodes.ARTIFACT_CORRUPT,
                    what + ": object " + ref.getKey() + " does not have the stated sha256");
            }
            return resolved;
        } catch (StoreException e) {
            if (e.notFound()) {
                throw new RejectedInputException(422, ReasonCodes.ARTIFACT_MISSING,
                    what + ": no object '" + ref.getKey() + "' in bucket '" + ref.getBucket() + "'");
            }
            throw new RejectedInputException(503, ReasonCodes.STAGE_ERROR, "artifact store unavailable: " + e.getMessage());
        }
    }

    private byte[] load(ArtifactRef ref, String what) {
        try {
            return store.get(ref);
        } catch (StoreException e) {
            throw new RejectedInputException(e.retriable() ? 503 : 422, e.retriable() ? ReasonCodes.STAGE_ERROR : ReasonCodes.ARTIFACT_CORRUPT,
                what + ": " + e.getMessage());
        }
    }

    private ArtifactRef put(List<String> stored, String key, byte[] bytes, String mediaType) throws StoreException {
        ArtifactRef ref = store.put(key, bytes, mediaType);
        stored.add(key);
        return ref;
    }

    private void rollback(List<String> keys) {
        for (String k : keys) {
            try {
                store.delete(k);
            } catch (StoreException e) {
                LOG.warnf("could not remove %s after a failed submit: %s", k, e.getMessage());
            }
        }
    }

    private static String nameOr(String name, String jobId) {
        return name == null || name.isBlank() ? jobId : name;
    }
}
