package dev.quantflow.pipeline.kafka;

import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.events.ProfileRequested;
import dev.quantflow.events.QuantizationRequested;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.ValidationRequested;
import dev.quantflow.pipeline.QuantMethod;
import dev.quantflow.pipeline.Stages;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.pipeline.kafka.StageHandler.Binding;

/**
 * The one registry of where each stage sits: the topic it consumes, its stage name and its consumer group (the pool).
 * Beside {@link Topics} (what flows) and {@link QuantMethod} (which pool runs a method), this says who consumes what,
 * so the consumer-group names that deploy/k8s ACLs and autoscalers refer to are written once.
 */
public final class Bindings {

    /** intake: requests published by users on Kafka. */
    public static final Binding<QuantizationRequested> INTAKE =
        new Binding<>(Topics.REQUESTS, Stages.INTAKE, "intake");
    public static final Binding<CalibrationRequested> CALIBRATION =
        new Binding<>(Topics.CALIBRATION_REQUESTED, Stages.CALIBRATION, "calibration");
    public static final Binding<ValidationRequested> VALIDATION =
        new Binding<>(Topics.VALIDATION_REQUESTED, Stages.VALIDATION, "validator");
    public static final Binding<ExportRequested> EXPORT =
        new Binding<>(Topics.EXPORT_REQUESTED, Stages.EXPORT, "exporter");
    /** The exporter adding completed hardware profiles to a finished job's report: a failure must not fail the job. */
    public static final Binding<ProfileCompleted> EXPORT_PROFILES =
        new Binding<>(Topics.PROFILES_COMPLETED_TOPIC, Stages.EXPORT, "exporter-profiles", false);

    /** Consumer groups of the hardware profilers are {@code hardware-profiler-<hardwareClass>}. */
    public static final String PROFILER_GROUP_PREFIX = "hardware-profiler-";

    private Bindings() {
    }

    /** The quantizer pool of a method: its topic and its pool as consumer group. */
    public static Binding<QuantizeRequested> quantizer(QuantMethod method) {
        return new Binding<>(method.topic(), Stages.QUANTIZE, method.pool());
    }

    /**
     * The profiler pool of one hardware class. Profiling is side work on a finished job: a failure is logged, the job
     * stays as it was.
     */
    public static Binding<ProfileRequested> profiler(String hardwareClass) {
        return new Binding<>(Topics.profileRequested(hardwareClass), Stages.PROFILE, PROFILER_GROUP_PREFIX + hardwareClass,
            false);
    }
}
