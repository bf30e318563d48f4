package dev.quantflow.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The metric-name extraction that the services' dashboard checks rely on. */
class GrafanaDashboardTest {

    @Test
    void findsTheMetricsOfAnExpressionAndNothingElse() {
        assertThat(GrafanaDashboard.metricNames("histogram_quantile(0.95, sum by (le, stage) "
            + "(rate(quantflow_stage_duration_seconds_bucket{outcome=\"out\", stage=~\"a|b\"}[$__rate_interval])))"))
            .containsExactly("quantflow_stage_duration_seconds_bucket");
        assertThat(GrafanaDashboard.metricNames("sum(increase(a_sum{group=\"exporter\"}[$__range])) / sum without (x) "
            + "(increase(b_count[1h])) > bool 0 and on (job) up"))
            .containsExactly("a_sum", "b_count", "up");
    }

    @Test
    void readsSampleNamesFromAScrape() {
        String scrape = """
            # HELP quantflow_stage_jobs_total Events
            # TYPE quantflow_stage_jobs_total counter
            quantflow_stage_jobs_total{outcome="in",stage="quantize"} 1.0
            quantflow_stage_duration_seconds_bucket{le="0.01"} 0
            process_uptime_seconds 12.5
            """;
        assertThat(GrafanaDashboard.scrapedNames(scrape))
            .containsExactly("process_uptime_seconds", "quantflow_stage_duration_seconds_bucket", "quantflow_stage_jobs_total");
    }

    @Test
    void theDashboardQueriesOnlyQuantflowMetricsAndAllOfThem() throws Exception {
        var names = GrafanaDashboard.metricNames(GrafanaDashboard.locate());
        assertThat(names).allMatch(n -> n.startsWith("quantflow_"));
        assertThat(names).contains("quantflow_stage_jobs_total", "quantflow_stage_duration_seconds_bucket",
            "quantflow_stage_consumer_lag_records", "quantflow_stage_deliveries_total", "quantflow_stage_dead_letters_total",
            "quantflow_stage_peak_rss_bytes", "quantflow_job_attempts_bucket", "quantflow_intake_jobs_total");
    }
}
