package dev.quantflow.validator.service;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds which node an ONNX Runtime error is about, in terms of the original graph's node names. */
final class RuntimeErrors {

    private static final Pattern NODE = Pattern.compile("[Nn]ame:\\s*'([^']+)'");

    private RuntimeErrors() {
    }

    /**
     * ORT names the failing node ({@code ... running QLinearConv node. Name:'/conv1/Conv_token_1' ...}); fused nodes
     * carry the original name plus a suffix, so the longest quantized node name that prefixes it is the culprit.
     *
     * @return the original node name, or null when the message names none of them
     */
    static String failingNode(String message, List<String> quantizedNodes) {
        if (message == null) {
            return null;
        }
        Matcher m = NODE.matcher(message);
        String best = null;
        while (m.find()) {
            String name = m.group(1);
            for (String node : quantizedNodes) {
                if (name.startsWith(node) && (best == null || node.length() > best.length())) {
                    best = node;
                }
            }
        }
        return best;
    }
}
