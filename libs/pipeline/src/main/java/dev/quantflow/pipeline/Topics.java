package dev.quantflow.pipeline;

import java.util.List;
import java.util.Map;

import org.apache.avro.specific.SpecificRecord;

import dev.quantflow.events.CalibrationRequested;
import dev.quantflow.events.DeadLetter;
import dev.quantflow.events.ExportRequested;
import dev.quantflow.events.JobFailed;
import dev.quantflow.events.JobStatus;
import dev.quantflow.events.ModelReady;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.events.ProfileRequested;
import dev.quantflow.events.QuantizationRequested;
import dev.quantflow.events.QuantizeRequested;
import dev.quantflow.events.ValidationRequested;

/**
 * The one registry of Kafka topics: name, value type and topic configuration. Every service and test uses these
 * constants; no topic name is written anywhere else. Keys are always the job id (a String). The quantizer pool of
 * a method is {@link QuantMethod#topic()}.
 */
public final class Topics {

    /** A topic with its Avro value type and the configuration it is created with. */
    public record Topic<V extends SpecificRecord>(String name, Class<V> valueType, int partitions, Map<String, String> config) {
        public boolean compacted() {
            return "compact".equals(config.get("cleanup.policy"));
        }
    }

    private static final int WORK_PARTITIONS = 6;
    private static final Map<String, String> WORK = Map.of("retention.ms", String.valueOf(7L * 24 * 3600 * 1000));

    public static final Topic<QuantizationRequested> REQUESTS =
        new Topic<>("quantflow.requests", QuantizationRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<CalibrationRequested> CALIBRATION_REQUESTED =
        new Topic<>("quantflow.calibration.requested", CalibrationRequested.class, WORK_PARTITIONS, WORK);

    public static final Topic<QuantizeRequested> QUANTIZE_STATIC =
        new Topic<>("quantflow.quantize.static.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<QuantizeRequested> QUANTIZE_DYNAMIC =
        new Topic<>("quantflow.quantize.dynamic.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<QuantizeRequested> QUANTIZE_GPTQ =
        new Topic<>("quantflow.quantize.gptq.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<QuantizeRequested> QUANTIZE_RTN =
        new Topic<>("quantflow.quantize.rtn.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<QuantizeRequested> QUANTIZE_AWQ =
        new Topic<>("quantflow.quantize.awq.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<QuantizeRequested> QUANTIZE_QAT =
        new Topic<>("quantflow.quantize.qat.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<QuantizeRequested> QUANTIZE_CAST =
        new Topic<>("quantflow.quantize.cast.requested", QuantizeRequested.class, WORK_PARTITIONS, WORK);

    public static final Topic<ValidationRequested> VALIDATION_REQUESTED =
        new Topic<>("quantflow.validation.requested", ValidationRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<ExportRequested> EXPORT_REQUESTED =
        new Topic<>("quantflow.export.requested", ExportRequested.class, WORK_PARTITIONS, WORK);
    public static final Topic<ModelReady> MODELS_READY =
        new Topic<>("quantflow.models.ready", ModelReady.class, WORK_PARTITIONS, WORK);
    public static final Topic<JobFailed> JOBS_FAILED =
        new Topic<>("quantflow.jobs.failed", JobFailed.class, WORK_PARTITIONS, WORK);
    /** Latest status per job; compacted, so a new reader rebuilds the state of every job. */
    public static final Topic<JobStatus> JOBS_STATUS =
        new Topic<>("quantflow.jobs.status", JobStatus.class, WORK_PARTITIONS,
            Map.of("cleanup.policy", "compact", "min.compaction.lag.ms", String.valueOf(24L * 3600 * 1000)));

    /**
     * Records a stage gave up on: delivered to workers that died on them {@code max-deliveries} times, or unreadable.
     * One topic for every stage ({@code DeadLetter.sourceTopic} and {@code group} say where it came from); nothing
     * consumes it automatically: operators inspect it and re-publish the payload once the cause is fixed.
     */
    public static final Topic<DeadLetter> DEAD_LETTERS =
        new Topic<>("quantflow.dlq", DeadLetter.class, WORK_PARTITIONS, WORK);

    /** Profiling requests are per hardware class: {@code quantflow.profile.requested.<hwclass>}. */
    public static final String PROFILE_REQUESTED_PREFIX = "quantflow.profile.requested.";
    public static final String PROFILES_COMPLETED = "quantflow.profiles.completed";

    /** Completed hardware profiles of every class (producer: hardware-profiler; consumer: exporter). */
    public static final Topic<ProfileCompleted> PROFILES_COMPLETED_TOPIC =
        new Topic<>(PROFILES_COMPLETED, ProfileCompleted.class, WORK_PARTITIONS, WORK);

    /** The request topic of one hardware class: {@code quantflow.profile.requested.<hardwareClass>}. */
    public static Topic<ProfileRequested> profileRequested(String hardwareClass) {
        if (!hardwareClass.matches("[a-z0-9][a-z0-9-]{0,62}")) {
            throw new IllegalArgumentException("hardware class '" + hardwareClass + "' must be lower-case letters, digits and dashes");
        }
        return new Topic<>(PROFILE_REQUESTED_PREFIX + hardwareClass, ProfileRequested.class, WORK_PARTITIONS, WORK);
    }

    public static final List<Topic<?>> ALL = List.of(REQUESTS, CALIBRATION_REQUESTED, QUANTIZE_STATIC, QUANTIZE_DYNAMIC,
        QUANTIZE_GPTQ, QUANTIZE_RTN, QUANTIZE_AWQ, QUANTIZE_QAT, QUANTIZE_CAST, VALIDATION_REQUESTED, EXPORT_REQUESTED, MODELS_READY,
        JOBS_FAILED, JOBS_STATUS, PROFILES_COMPLETED_TOPIC, DEAD_LETTERS);

    private Topics() {
    }
}
