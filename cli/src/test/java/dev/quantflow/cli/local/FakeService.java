package dev.quantflow.cli.local;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import com.sun.net.httpserver.HttpServer;

/**
 * Stands in for a Quarkus service in LocalClusterTest: answers {@code /q/health/ready} on {@code quarkus.http.port}
 * and echoes the connection settings it was started with on {@code /settings}. With {@code -Dfake.fail=true} it
 * prints a reason and exits with code 3, as a service that cannot start would.
 */
public final class FakeService {

    public static void main(String[] args) throws IOException {
        if (Boolean.getBoolean("fake.fail")) {
            System.out.println("fake service: cannot reach the model store, giving up");
            System.exit(3);
        }
        int port = Integer.parseInt(System.getProperty("quarkus.http.port"));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/q/health/ready", exchange -> respond(exchange, "{\"status\":\"UP\"}"));
        server.createContext("/settings", exchange -> respond(exchange, String.join("\n",
            System.getProperty("kafka.bootstrap.servers"),
            System.getProperty("quantflow.store.endpoint"),
            System.getProperty("quantflow.store.access-key"),
            System.getProperty("quantflow.store.secret-key"),
            System.getProperty("quantflow.store.bucket"))));
        server.start();
    }

    private static void respond(com.sun.net.httpserver.HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private FakeService() {
    }
}
