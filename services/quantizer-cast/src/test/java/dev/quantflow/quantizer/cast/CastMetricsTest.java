package dev.quantflow.quantizer.cast;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import dev.quantflow.events.Recipe;
import dev.quantflow.pipeline.ReasonCodes;
import dev.quantflow.pipeline.Topics;
import dev.quantflow.testsupport.Fixtures;
import dev.quantflow.testsupport.GrafanaDashboard;
import dev.quantflow.testsupport.JobProbe;
import dev.quantflow.testsupport.QuantflowInfraResource;
import dev.quantflow.testsupport.StageWiringTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * {@code /q/metrics} of a running stage after real work (a converted model, a refused method, an unreadable record):
 * the stage metrics are there with their tags, and every stage metric the Grafana dashboard queries exists (the
 * intake ones are checked by intake's tests).
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class CastMetricsTest extends StageWiringTest {

    @TestHTTPResource("/q/metrics")
    URI metrics;

    @Test
    void theScrapeHasEveryStageMetricTheDashboardQueries() throws Exception {
        String ok = JobProbe.newJobId();
        publishQuantize(ok, Topics.QUANTIZE_CAST, Fixtures.path("fashion-cnn/model.onnx"), "fp16", Recipe.newBuilder().build());
        assertHandedToValidator(ok, "model.fp16.onnx");
        String refused = JobProbe.newJobId();
        publishQuantize(refused, Topics.QUANTIZE_CAST, Fixtures.path("fashion-cnn/model.onnx"), "static", Recipe.newBuilder().build());
        assertQuantizerFailed(refused, ReasonCodes.UNSUPPORTED_METHOD);
        String garbage = JobProbe.newJobId();
        probe.publishRaw(Topics.QUANTIZE_CAST, garbage, "not avro".getBytes(StandardCharsets.UTF_8));
        probe.awaitFirst(Topics.DEAD_LETTERS, garbage, WAIT);

        String scrape = scrape();
        assertThat(scrape)
            .contains("quantflow_stage_jobs_total{group=\"quantizer-cast\",outcome=\"in\",reason=\"none\",stage=\"quantize\"")
            .contains("outcome=\"failed\",reason=\"UNSUPPORTED_METHOD\"")
            .contains("outcome=\"failed\",reason=\"BAD_EVENT\"")
            .contains("quantflow_stage_dead_letters_total{group=\"quantizer-cast\",reason=\"BAD_EVENT\"")
            .contains("quantflow_stage_duration_seconds_bucket{group=\"quantizer-cast\",outcome=\"out\"");

        Set<String> scraped = GrafanaDashboard.scrapedNames(scrape);
        Set<String> queried = new TreeSet<>(GrafanaDashboard.metricNames(GrafanaDashboard.locate()));
        queried.removeIf(n -> n.startsWith("quantflow_intake_"));
        assertThat(queried).isNotEmpty();
        assertThat(scraped).containsAll(queried);
    }

    private String scrape() throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(metrics).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        }
    }
}
