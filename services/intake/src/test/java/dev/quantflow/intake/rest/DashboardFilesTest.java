package dev.quantflow.intake.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import dev.quantflow.testsupport.QuantflowInfraResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The web dashboard's files as intake serves them: the page, its stylesheet, and every ES module reachable from
 * {@code app.js} through its imports, the ECharts bundle of the WebJar included (a WebJar version bump that leaves
 * {@code report.js} on the old path fails here). The page itself is tested in Chromium by PipelineIT.
 */
@QuarkusTest
@QuarkusTestResource(QuantflowInfraResource.class)
class DashboardFilesTest {

    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final Pattern IMPORT = Pattern.compile("(?:import|from)\\s*['\"]([^'\"]+\\.js)['\"]|import\\(['\"]([^'\"]+\\.js)['\"]\\)");

    @TestHTTPResource("/")
    URI root;

    HttpResponse<String> get(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void thePageAndEveryModuleItImportsAreServed() throws Exception {
        HttpResponse<String> page = get(root.resolve("/dashboard/"));
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type").orElse("")).startsWith("text/html");
        assertThat(page.body()).contains("<script type=\"module\" src=\"js/app.js\"></script>", "href=\"dashboard.css\"");
        assertThat(get(root.resolve("/dashboard/dashboard.css")).statusCode()).isEqualTo(200);
        assertThat(get(root.resolve("/")).body()).as("the root page points at the dashboard").contains("/dashboard/");

        Set<URI> seen = new LinkedHashSet<>();
        Deque<URI> todo = new ArrayDeque<>();
        todo.add(root.resolve("/dashboard/js/app.js"));
        while (!todo.isEmpty()) {
            URI module = todo.poll();
            if (!seen.add(module)) {
                continue;
            }
            HttpResponse<String> r = get(module);
            assertThat(r.statusCode()).as(module.toString()).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type").orElse("")).as(module.toString()).contains("javascript");
            if (module.getPath().startsWith("/webjars/")) {
                continue; // a bundle: nothing of ours to follow
            }
            Matcher m = IMPORT.matcher(r.body());
            while (m.find()) {
                todo.add(module.resolve(m.group(1) != null ? m.group(1) : m.group(2)));
            }
        }
        assertThat(seen.stream().map(URI::getPath)).contains("/dashboard/js/api.js", "/dashboard/js/jobs.js",
            "/dashboard/js/submit.js", "/dashboard/js/live.js", "/dashboard/js/workflow.js", "/dashboard/js/report.js",
            "/webjars/echarts/5.3.1/dist/echarts.esm.min.js");
    }
}
