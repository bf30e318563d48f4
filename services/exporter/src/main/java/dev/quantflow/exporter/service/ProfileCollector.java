package dev.quantflow.exporter.service;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.quantflow.contracts.Report;
import dev.quantflow.contracts.StageJson;
import dev.quantflow.events.ArtifactRef;
import dev.quantflow.events.FormatSupport;
import dev.quantflow.events.ProfileCompleted;
import dev.quantflow.pipeline.kafka.Bindings;
import dev.quantflow.pipeline.kafka.StageContext;
import dev.quantflow.pipeline.stages.ArtifactStage;
import dev.quantflow.pipeline.store.ArtifactKeys;
import dev.quantflow.pipeline.store.StoreException;

/**
 * Adds hardware profiles to a finished job's report: each {@code ProfileCompleted} (one hardware class, the fp32 or
 * the quantized model) becomes {@code report.hardware.<class>.<label>} in {@code report.json}, a column of the
 * "Hardware" table in {@code report.html}, and the manifest's sha256 of both files is updated. Profiles of one job
 * share its Kafka key, so they are applied one after the other; a profile arriving twice replaces itself. It writes
 * no job status: the job is already READY. A profile for a model without a report (not a quantflow job) is ignored.
 */
@ApplicationScoped
public class ProfileCollector extends ArtifactStage<ProfileCompleted> {

    private static final Logger LOG = Logger.getLogger(ProfileCollector.class);

    public ProfileCollector() {
        super(Bindings.EXPORT_PROFILES);
    }

    @Override
    public void handle(ProfileCompleted event, StageContext ctx) throws Exception {
        String jobId = ctx.jobId();
        String reportKey = ArtifactKeys.output(jobId, "report.json");
        byte[] current;
        try {
            current = store.get(reportKey);
        } catch (StoreException e) {
            if (e.notFound()) {
                LOG.infof("profile of %s on %s for %s: no report to add it to, ignored", event.getLabel(),
                    event.getHardwareClass(), jobId);
                return;
            }
            throw e;
        }
        Report report = StageJson.read(current, Report.class)
            .withHardwareProfile(event.getHardwareClass(), event.getLabel().isEmpty() ? "model" : event.getLabel(), profile(event));

        byte[] json = StageJson.write(report);
        ArtifactRef jsonRef = store.put(reportKey, json, "application/json");
        ArtifactRef htmlRef = store.put(ArtifactKeys.output(jobId, "report.html"),
            Reports.html(report).getBytes(StandardCharsets.UTF_8), "text/html");
        updateManifest(jobId, List.of(jsonRef, htmlRef));
        LOG.infof("job %s: %s profile on %s added to the report (p50 %.3f ms)", jobId, event.getLabel(),
            event.getHardwareClass(), event.getLatencyP50Ms());
    }

    static Report.HardwareProfile profile(ProfileCompleted e) {
        List<Report.FormatLevel> formats = new ArrayList<>();
        for (FormatSupport f : e.getFormats()) {
            formats.add(new Report.FormatLevel(f.getFormat(), f.getLevel(), f.getNote()));
        }
        String energyUnavailable = e.getEnergyJoulesPerInference() != null ? null
            : e.getEnergyUnavailableReason() == null ? "not measured" : e.getEnergyUnavailableReason();
        return new Report.HardwareProfile(e.getCpuModel(), e.getLogicalCores(), e.getArch(), e.getGpu(),
            List.copyOf(e.getCpuFeatures()), formats, e.getIntraOpThreads(), e.getBatchSize(), e.getLatencyP50Ms(),
            e.getLatencyP95Ms(), e.getLatencyP99Ms(), e.getThroughputBatchSize(), e.getThroughputSamplesPerSecond(),
            e.getPeakMemoryMb(), e.getEnergyJoulesPerInference(), energyUnavailable,
            e.getReport() == null ? null : e.getReport().getKey());
    }

    private void updateManifest(String jobId, List<ArtifactRef> changed) throws Exception {
        String key = ArtifactKeys.output(jobId, "manifest.json");
        ObjectNode manifest = (ObjectNode) StageJson.MAPPER.readTree(store.get(key));
        ArrayNode files = (ArrayNode) manifest.path("files");
        List<JsonNode> kept = new ArrayList<>();
        files.forEach(kept::add);
        files.removeAll();
        for (JsonNode f : kept) {
            ArtifactRef replacement = changed.stream().filter(c -> c.getKey().equals(f.path("key").asText())).findFirst().orElse(null);
            files.add(replacement == null ? f : StageJson.MAPPER.valueToTree(ExportStage.entry(
                replacement.getKey().substring(replacement.getKey().lastIndexOf('/') + 1), replacement)));
        }
        store.put(key, StageJson.write(manifest), "application/json");
    }
}
