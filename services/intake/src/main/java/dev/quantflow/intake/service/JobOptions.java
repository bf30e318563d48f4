package dev.quantflow.intake.service;

import java.util.List;

/** What a user may state about a job besides its inputs; null means "use the default". */
public record JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                         Integer timeBudgetSeconds, Double maxSizeRatio, String metric, Double metricThreshold) {

    public JobOptions {
        excludedNodes = excludedNodes == null ? List.of() : List.copyOf(excludedNodes);
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, null, null, null, null);
    }

    public JobOptions(String name, String method, Double maxRelativeDrop, Integer maxAttempts, List<String> excludedNodes,
                      Integer timeBudgetSeconds, Double maxSizeRatio) {
        this(name, method, maxRelativeDrop, maxAttempts, excludedNodes, timeBudgetSeconds, maxSizeRatio, null, null);
    }
}
