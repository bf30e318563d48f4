package dev.quantflow.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * Reads a {@code text/event-stream} body (intake's {@code GET /api/jobs/{id}/events}): the {@code data:} lines of each
 * event, joined by newlines, go to a handler. {@code event:}, {@code id:}, {@code retry:} and {@code :} comment lines
 * carry nothing a job's progress needs and are skipped.
 */
public final class ServerSentEvents {

    private ServerSentEvents() {
    }

    /**
     * {@code GET} of {@code request} (its URI and headers, e.g. the bearer token) as an event stream, each event's data
     * to {@code onData} until it returns true (then true). A
     * 4xx answer goes to {@code onRefusal} with its status and body (it may throw); that, any other non-200 answer,
     * an unreachable server and a dropped stream return false, and the caller should poll.
     */
    public static boolean follow(HttpClient http, HttpRequest.Builder get, Predicate<String> onData,
        BiConsumer<Integer, String> onRefusal) throws InterruptedException {
        HttpRequest request = get.header("Accept", "text/event-stream").GET().build();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                String body;
                try (InputStream in = response.body()) {
                    body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                if (response.statusCode() >= 400 && response.statusCode() < 500) {
                    onRefusal.accept(response.statusCode(), body);
                }
                return false;
            }
            return readData(response.body(), onData);
        } catch (IOException unreachableOrDropped) {
            return false;
        }
    }

    /**
     * Hands each event's data to {@code onData} until it returns true (then true) or the stream ends (then false);
     * a last event without its closing blank line is handed over too. Closes {@code body}.
     */
    public static boolean readData(InputStream body, Predicate<String> onData) throws IOException {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            StringBuilder data = new StringBuilder();
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isEmpty()) {
                    if (!data.isEmpty() && dispatch(data, onData)) {
                        return true;
                    }
                } else if (line.startsWith("data:")) {
                    if (!data.isEmpty()) {
                        data.append('\n');
                    }
                    data.append(line.startsWith("data: ") ? line.substring(6) : line.substring(5));
                }
            }
            return !data.isEmpty() && dispatch(data, onData);
        }
    }

    private static boolean dispatch(StringBuilder data, Predicate<String> onData) {
        String event = data.toString();
        data.setLength(0);
        return onData.test(event);
    }
}
