package dev.quantflow.contracts;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Backward compatibility of a JSON Schema with an earlier version: every document the earlier schema accepts must
 * still be accepted, as far as the keywords our schemas use can tell. Both schemas are walked side by side from the
 * root, following local {@code $ref}s ({@code #/$defs/…}). A problem is reported when the new schema
 * <ul>
 *   <li>drops a property the old one declared,</li>
 *   <li>narrows a type ({@code "integer"} may widen to {@code "number"}, not the reverse; a type list may only grow),</li>
 *   <li>requires a property the old one did not,</li>
 *   <li>removes an enum value, or adds an enum where there was none,</li>
 *   <li>closes an object ({@code additionalProperties: false} where extra properties were allowed), or</li>
 *   <li>adds or changes a {@code pattern} or {@code format}.</li>
 * </ul>
 * Keywords outside that list (numeric bounds, {@code oneOf}, …) are not compared: the report schema does not use them,
 * and this check fails if it starts to (see {@link #KNOWN_KEYWORDS}) rather than passing silently.
 */
final class JsonSchemaCompatibility {

    static final Set<String> KNOWN_KEYWORDS = Set.of("$schema", "$id", "$ref", "$defs", "title", "description", "type",
        "properties", "required", "additionalProperties", "items", "enum", "pattern", "format");

    private final JsonNode oldRoot;
    private final JsonNode newRoot;
    private final List<String> problems = new ArrayList<>();
    private final Set<String> visited = new HashSet<>();

    private JsonSchemaCompatibility(JsonNode oldRoot, JsonNode newRoot) {
        this.oldRoot = oldRoot;
        this.newRoot = newRoot;
    }

    /** The ways {@code newer} rejects documents {@code older} accepts; empty when it is backward compatible. */
    static List<String> problems(JsonNode older, JsonNode newer) {
        JsonSchemaCompatibility c = new JsonSchemaCompatibility(older, newer);
        c.compare("#", older, newer);
        return c.problems;
    }

    private void compare(String path, JsonNode oldSchema, JsonNode newSchema) {
        JsonNode o = resolve(oldRoot, oldSchema);
        JsonNode n = resolve(newRoot, newSchema);
        if (!visited.add(path + "|" + System.identityHashCode(o) + "|" + System.identityHashCode(n))) {
            return;
        }
        unknownKeywords(path, o);
        unknownKeywords(path, n);
        types(path, o, n);
        enums(path, o, n);
        same(path, "pattern", o, n);
        same(path, "format", o, n);

        for (String name : texts(n.path("required"))) {
            if (!texts(o.path("required")).contains(name)) {
                problems.add(path + ": property '" + name + "' is newly required");
            }
        }
        JsonNode oldProps = o.path("properties");
        JsonNode newProps = n.path("properties");
        for (Iterator<Map.Entry<String, JsonNode>> it = oldProps.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> p = it.next();
            if (!newProps.has(p.getKey())) {
                problems.add(path + ": property '" + p.getKey() + "' was removed");
            } else {
                compare(path + "/" + p.getKey(), p.getValue(), newProps.get(p.getKey()));
            }
        }
        additionalProperties(path, o, n);
        if (o.has("items") && n.has("items")) {
            compare(path + "[]", o.get("items"), n.get("items"));
        } else if (!o.has("items") && n.has("items")) {
            problems.add(path + ": array items are newly constrained");
        }
    }

    private void types(String path, JsonNode o, JsonNode n) {
        Set<String> oldTypes = texts(o.path("type"));
        Set<String> newTypes = texts(n.path("type"));
        if (newTypes.isEmpty()) {
            return;
        }
        if (oldTypes.isEmpty()) {
            problems.add(path + ": type newly constrained to " + newTypes);
            return;
        }
        for (String t : oldTypes) {
            if (!newTypes.contains(t) && !(t.equals("integer") && newTypes.contains("number"))) {
                problems.add(path + ": type " + oldTypes + " became " + newTypes);
                return;
            }
        }
    }

    private void enums(String path, JsonNode o, JsonNode n) {
        if (!n.has("enum")) {
            return;
        }
        if (!o.has("enum")) {
            problems.add(path + ": an enum was added " + n.get("enum"));
            return;
        }
        for (JsonNode v : o.get("enum")) {
            boolean kept = false;
            for (JsonNode w : n.get("enum")) {
                kept |= v.equals(w);
            }
            if (!kept) {
                problems.add(path + ": enum value " + v + " was removed");
            }
        }
    }

    private void same(String path, String keyword, JsonNode o, JsonNode n) {
        if (n.has(keyword) && !n.get(keyword).equals(o.get(keyword))) {
            problems.add(path + ": " + keyword + " changed from " + o.get(keyword) + " to " + n.get(keyword));
        }
    }

    /** Absent or {@code true} allows anything; {@code false} nothing beyond the declared properties; a schema, its shape. */
    private void additionalProperties(String path, JsonNode o, JsonNode n) {
        JsonNode oa = o.get("additionalProperties");
        JsonNode na = n.get("additionalProperties");
        boolean oldOpen = oa == null || (oa.isBoolean() && oa.asBoolean());
        boolean newOpen = na == null || (na.isBoolean() && na.asBoolean());
        boolean oldClosed = oa != null && oa.isBoolean() && !oa.asBoolean();
        boolean newClosed = na != null && na.isBoolean() && !na.asBoolean();
        if (newOpen || oldClosed) {
            return;
        }
        if (newClosed || oldOpen) {
            problems.add(path + ": additional properties were allowed" + (oldOpen ? "" : " (as " + oa + ")")
                + " and no longer are" + (newClosed ? "" : " unconstrained"));
            return;
        }
        compare(path + "/*", oa, na);
    }

    private void unknownKeywords(String path, JsonNode schema) {
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KNOWN_KEYWORDS.contains(k)) {
                problems.add(path + ": keyword '" + k + "' is not understood by this check; extend JsonSchemaCompatibility");
            }
        }
    }

    /** Follows local references ({@code #/$defs/name}, or any JSON pointer into the same document). */
    private static JsonNode resolve(JsonNode root, JsonNode schema) {
        JsonNode s = schema;
        for (int hops = 0; s.has("$ref"); hops++) {
            String ref = s.get("$ref").asText();
            if (!ref.startsWith("#") || hops > 32) {
                throw new IllegalArgumentException("only local $refs are supported: " + ref);
            }
            JsonNode target = root.at(ref.substring(1));
            if (target.isMissingNode()) {
                throw new IllegalArgumentException("dangling $ref " + ref);
            }
            s = target;
        }
        return s;
    }

    private static Set<String> texts(JsonNode node) {
        Set<String> out = new LinkedHashSet<>();
        if (node.isTextual()) {
            out.add(node.asText());
        }
        node.forEach(v -> out.add(v.asText()));
        return out;
    }
}
