/// The definition format, version 1: every key, its type and its meaning. The reference in
/// docs/definition-format.md explains each with an example.
public enum DefinitionFormat {
    /// The format version this engine reads.
    public static let version: Int64 = 1

    static let identifier = "^[a-z][a-z0-9_]*$"
    /// Parameter names may have capitals: IBM's flags do (`-selfSignedCert`).
    static let parameterName = "^[A-Za-z][A-Za-z0-9_]*$"

    // MARK: Requests

    static let queryValue: Shape = .either(
        [.template("A query parameter value."), .list(.template("One value of a repeated parameter."), "Values of a repeated parameter.")],
        "A value, or a list of values for a repeated parameter.")

    static let body: ObjectShape = ObjectShape(
        "The request body: exactly one of json, form, raw or graphql.",
        exclusive: [["json", "form", "raw", "graphql"]],
        [
            optional("json", .json("A JSON body; every string in it is a template, and a string that is a single ${...} keeps the expression's type.")),
            optional("form", .map(keyPattern: nil, keyDescription: "form field", value: .template("A form field value."), "An application/x-www-form-urlencoded body.")),
            optional("raw", .template("A raw body, sent as written.")),
            optional("graphql", .object(ObjectShape("A GraphQL request, sent as {\"query\": ..., \"variables\": ...}.", [
                required("query", .template("The GraphQL query.")),
                optional("variables", .json("The variables; strings are templates.")),
            ]))),
            optional("content_type", .text("The Content-Type header for a raw body (default text/plain).")),
        ])

    static let requestFields: [ObjectShape.Field] = [
        optional("method", .choice(HTTPMethod.allCases.filter { $0 != .head }.map(\.rawValue), "The HTTP method (default GET).")),
        optional("path", .template("The path, relative to the datasource's base_url, or an absolute URL.")),
        optional("query", .map(keyPattern: nil, keyDescription: "query parameter", value: queryValue, "Query parameters.")),
        optional("headers", .map(keyPattern: nil, keyDescription: "header name", value: .template("A header value."), "Request headers.")),
        optional("body", .object(body)),
        optional("allow_redirects", .boolean("Follow redirects (default false).")),
        optional("timeout", .duration("The total time allowed for one request (default: the datasource's).")),
    ]

    static let request: ObjectShape = ObjectShape("An HTTP request.", requestFields)

    // MARK: Errors

    static let errorRule: ObjectShape = ObjectShape(
        "What to do when a request fails in a given way.",
        [
            required("when", .object(ObjectShape("The condition: all given parts must match.", [
                optional("status", .either([
                    .integer(100...599, "A status code."),
                    .text("A status class such as 5xx, or a range such as 500-504."),
                    .list(.either([.integer(100...599, "A status code."), .text("A status class or range.")], "A status, class or range."), "Statuses, classes or ranges."),
                ], "The HTTP status: a code, a class (4xx), a range (500-504), or a list of them.")),
                optional("transport", .choice(["refused", "dns", "tls", "timeout", "any"], "A failure to get a response at all.")),
                optional("body_contains", .text("A substring of the response body.")),
                optional("body", .expression("A condition over the parsed response body ($).")),
                optional("unparseable_body", .boolean("The body of a successful response could not be parsed.")),
            ]))),
            required("then", .choice(["retry", "fail", "ignore"], "retry the request, fail the run, or ignore it (no records).")),
            optional("exit_code", .integer(1...255, "For fail, and for retry once retries are exhausted: the exit code (10, 20, 50-55).")),
            optional("message", .text("For fail: the message to report.")),
            optional("retries", .integer(0...100, "For retry: how many times (default 3).")),
            optional("backoff", .choice(["constant", "exponential"], "For retry: how the delay grows (default exponential).")),
            optional("delay", .duration("For retry: the first delay (default 1s).")),
            optional("max_delay", .duration("For retry: the longest delay, also the cap on Retry-After (default 60s).")),
            optional("respect_retry_after", .boolean("For retry: wait as long as a Retry-After header says (default true).")),
            optional("delay_from", .object(ObjectShape("For retry: the wait from a header of the response, as the API says when to try again; a missing or unparseable header falls back to the backoff. Not capped by max_delay.", [
                required("header", .text("The header, e.g. X-Rate-Limit-Reset (Okta) or X-RateLimit-ToWait-Sec (Qualys).")),
                required("format", .choice(RetryDelayFrom.Format.allCases.map(\.rawValue), "epoch_seconds or epoch_ms: when to try again; seconds: how long to wait.")),
            ]))),
            optional("max_wait", .duration("For retry: the most one request may wait over all its retries; when the next wait would pass it, the request fails with exit_code.")),
        ])

    static let errors: Shape = .list(.object(errorRule), "Error mappings, tried in order before the defaults.")

    // MARK: Auth


    // MARK: Pagination

    static let stopFields: [ObjectShape.Field] = [
        optional("has_more", .expression("A condition over the response ($): more pages follow.")),
        optional("total", .expression("The total number of records, from the response ($); stops once that many were read.")),
        optional("stop_on_short_page", .boolean("Stop when a page has fewer records than the page size (default true where there is a page size).")),
        optional("max_pages", .integer(1...10_000_000, "The most pages to read in one run.")),
    ]

    static let allowOtherHosts = optional("allow_other_hosts", .boolean(
        "Follow next links to another scheme, host or port than the first page's, credentials and all (default false: such a link fails the run, 55)."))

    static let paginationVariants: [(name: String, shape: ObjectShape)] = [
        ("none", ObjectShape("One request gives all records.", [])),
        ("page", ObjectShape("Numbered pages: ${page} counts up from start.", [
            optional("param", .text("The query parameter for the page number (default page); \"\" to place ${page} yourself (in a body, say).")),
            optional("start", .integer(0...1, "The first page number (default 1).")),
            optional("size", .either([.integer(1...100_000, "Records per page."), .template("Records per page from a parameter (${page_size}).")], "Records per page.")),
            optional("size_param", .text("The query parameter for the page size.")),
        ] + stopFields)),
        ("offset", ObjectShape("Offset and limit: ${offset} grows by the number of records read.", [
            optional("offset_param", .text("The query parameter for the offset (default offset).")),
            optional("limit_param", .text("The query parameter for the limit (default limit).")),
            required("limit", .either([.integer(1...100_000, "Records per page."), .template("Records per page from a parameter (${page_size}).")], "Records per page.")),
            optional("start", .integer(0...0, "The first offset (0).")),
        ] + stopFields)),
        ("cursor", ObjectShape("A cursor from each response is sent with the next request as ${cursor}.", [
            required("next", .expression("The next cursor, from the response ($); null or empty when there is no next page.")),
            optional("param", .text("The query parameter that carries the cursor; leave it out to place ${cursor} in the body or path yourself.")),
        ] + stopFields)),
        ("next_url", ObjectShape("The response holds the URL of the next page.", [
            required("next", .expression("The next URL, from the response ($); relative URLs resolve against the request's.")),
            allowOtherHosts,
        ] + stopFields)),
        ("link_header", ObjectShape("RFC 8288 Link header with rel=\"next\".", [
            optional("rel", .text("The relation to follow (default next).")),
            allowOtherHosts,
        ] + stopFields)),
        ("time_window", ObjectShape("Consecutive windows from a start time up to the run's start, as ${window_start} and ${window_end} (epoch ms) and ${window_start_iso}, ${window_end_iso}.", [
            required("start", .expression("The first window's start in epoch ms, e.g. last_run_ms ?? days_ago_ms(30).")),
            required("step", .duration("The length of a window.")),
            optional("max_pages", .integer(1...10_000_000, "The most requests to make in one run.")),
        ])),
    ]

    // MARK: Endpoints

    static let endpoint: ObjectShape = ObjectShape(
        "A datasource endpoint: how to request it and where its records are.",
        requestFields + [
            optional("records", .expression("The records in a response ($ = parsed body); default $ (a top-level array). What it finds must be a list: an object, a scalar, null or an empty body fails the run (55); write `$.data ?? []` where a missing list means none.")),
            optional("single", .boolean("Each response is one record (an object), not a list, e.g. a path with ${id} (default false).")),
            optional("id", .expression("A record's id ($ = record), for lookups and by-id fetches; default $.id.")),
            optional("base_url", .template("The endpoint's own base URL (another host of the same datasource).")),
            optional("ids_from", .text("An endpoint whose records are the ids of this one's (a query endpoint): each page of ids is fetched with this endpoint's by_ids.")),
            optional("auth", .tagged(discriminator: "type", variants: authVariants, "The endpoint's own authentication, instead of the datasource's.")),
            optional("keys", .map(keyPattern: identifier, keyDescription: "key name (lower case, digits, _)",
                                  value: .expression("The key's value in a record ($ = record); a list gives the record several keys."),
                                  "More indexes of the records, for lookup_by(endpoint, key, value) and lookup_all(endpoint, key, value); the endpoint is then read whole before the mappings.")),
            optional("format", .choice(ResponseFormat.allCases.map(\.rawValue), "The response format (default json).")),
            optional("pagination", .tagged(discriminator: "type", variants: paginationVariants, "How to read all pages.")),
            optional("by_ids", .object(ObjectShape("How to fetch records by id (lookups, incremental re-reads): the request with ${ids}, chunked.", [
                optional("path", .template("Path for the by-id request (default: the endpoint's).")),
                optional("query", .map(keyPattern: nil, keyDescription: "query parameter", value: queryValue, "Query parameters, using ${ids} (a list).")),
                optional("body", .object(body)),
                optional("max_ids", .integer(1...100_000, "The most ids in one request (default 100).")),
                optional("max_url_length", .integer(256...1_000_000, "The longest URL a request may have (default 2000).")),
            ]))),
            optional("for_each", .object(ObjectShape("Requests this endpoint once per record of another endpoint.", [
                required("endpoint", .text("The endpoint whose records drive the requests.")),
                required("as", .text("The variable that holds the parent record in templates and mappings.")),
            ]))),
            optional("updated_since", .object(ObjectShape("What to add to requests in an incremental run to read only changed records.", [
                optional("query", .map(keyPattern: nil, keyDescription: "query parameter", value: queryValue, "Query parameters, e.g. {since: \"${last_run_iso}\"}.")),
                optional("body", .json("Members merged into a JSON body.")),
            ]))),
            optional("errors", errors),
        ])

    // MARK: Mappings

    static let fields: Shape = .map(keyPattern: nil, keyDescription: "field name", value: .expression("The field's value ($ = record, @ = item of each)."), "Field mappings.")

    static let vertex: ObjectShape = ObjectShape(
        "How records of an endpoint become vertices of a CAR collection.",
        [
            optional("collection", .text("The CAR collection (default: the mapping's name).")),
            required("from", .text("The endpoint whose records are mapped.")),
            optional("each", fanOut),
            optional("when", .expression("Only records (and items) for which this is true.")),
            required("fields", fields),
            optional("extra_fields", .map(keyPattern: nil, keyDescription: "field name", value: .expression("The field's value."), "Fields outside the import schema (CAR stores them as given; not type-checked).")),
            optional("keep_nulls", .list(.text("A field name."), "Fields sent as null instead of left out when their value is null.")),
        ])

    static let edge: ObjectShape = ObjectShape(
        "How records of an endpoint become edges of a CAR edge collection.",
        [
            optional("collection", .text("The CAR edge collection (default: the mapping's name).")),
            required("from", .text("The endpoint whose records are mapped.")),
            optional("each", fanOut),
            optional("when", .expression("Only records (and items) for which this is true.")),
            required("fields", fields),
            optional("extra_fields", .map(keyPattern: nil, keyDescription: "field name", value: .expression("The field's value."), "Edge properties outside the import schema.")),
        ])

    // MARK: Model state

    static let modelState: ObjectShape = ObjectShape(
        "How the datasource's save point is read and how changes since the last one are found.",
        exclusive: [["delta", "updated_since"], ["delta", "events"]],
        [
            required("current", .either([
                .choice(["run_start"], "The run's start time (epoch ms) is the save point."),
                .object(ObjectShape("A request that answers with the current save point.", [
                    required("request", .object(request)),
                    required("value", .expression("The save point in the response ($); numbers are kept as text.")),
                ])),
            ], "The datasource's current save point.")),
            optional("delta", .object(ObjectShape("A change-log request between two save points (${last_state}, ${new_state}).", [
                required("request", .object(request)),
                required("updated", .expression("The ids of an endpoint's changed records ($ = response, endpoint = its name).")),
                optional("deleted", .expression("The ids of an endpoint's deleted records ($ = response, endpoint = its name).")),
                optional("endpoints", .list(.text("An endpoint name."), "The endpoints the change log covers (default: every endpoint a mapping reads).")),
                optional("expect", .expression("A condition the change-log response must meet ($ = response); when false the run fails with 55 and no model state is saved. An empty body always fails.")),
            ]))),
            optional("updated_since", .boolean("Incremental runs use each endpoint's updated_since filter with ${last_run_ms}.")),
            optional("events", .list(.object(ObjectShape("A change feed from an event log: which record each event touches and how.", [
                required("from", .text("The event endpoint (paginated as any endpoint; its request uses ${last_run_ms}, ${last_run_iso} or ${last_state}); read in incremental runs only.")),
                optional("when", .expression("Only events for which this is true ($ = event).")),
                required("endpoint", .text("The endpoint whose record the event touches.")),
                required("id", .expression("The touched record's id, or a list of ids ($ = event).")),
                required("change", .expression("'create', 'update' or 'delete' ($ = event): created and updated records are read again by id, deleted ones deleted.")),
            ])), "Change feeds from event logs, for incremental runs (the last event of a record in reading order wins); endpoints with updated_since are read with it too.")),
        ])

    static let deletions: ObjectShape = ObjectShape(
        "How removed records are taken out of CAR.",
        [
            optional("deleted_records", .boolean("Delete the vertices of records the delta lists as deleted (default true).")),
            optional("missing_on_reread", .boolean("A changed record that is no longer found counts as deleted (default true).")),
            optional("reconcile_edges", .boolean("Deactivate edges of re-read records that no longer hold (default true).")),
            optional("retention", .object(ObjectShape("Delete vertices not seen for a while.", [
                required("days", .template("How many days a vertex may go unseen.")),
                required("collections", .list(.text("A vertex collection."), "The collections it applies to.")),
            ]))),
        ])

    // MARK: Schema extension

    static let propertyType: Shape = .choice(
        ["text", "numeric", "float", "integer", "bigint", "boolean", "jsonb", "timestamp", "inet", "macaddr"],
        "The CAR property type.")

    static let property: ObjectShape = ObjectShape("A property of an extension collection.", [
        required("type", propertyType),
        optional("required", .boolean("Whether every document must have it.")),
        optional("indexed", .boolean("Whether CAR indexes it.")),
        optional("unique", .boolean("Whether values must be unique.")),
        optional("description", .text("What it holds.")),
    ])

    static let properties: Shape = .map(keyPattern: "^[a-z][a-z0-9_]*$", keyDescription: "property name (lower case, digits, _)", value: .object(property), "Properties by name.")

    static let schemaExtension: ObjectShape = ObjectShape(
        "Collections and fields this connector adds to CAR's schema (posted to CAR when its version is newer).",
        [
            required("key", .text("The extension's UUID; it never changes.")),
            required("owner", .text("Who owns the extension (the connector's display name).")),
            required("version", .integer(1...Int64(Int32.max), "The extension's version; raise it to update CAR.")),
            optional("vertices", .map(keyPattern: "^[a-z][a-z0-9]*$", keyDescription: "collection name (lower case letters and digits)", value: .object(ObjectShape("A new vertex collection, or properties added to a core one.", [
                required("properties", properties),
            ])), "Vertex collections (new, or core ones with added properties).")),
            optional("edges", .map(keyPattern: "^[a-z][a-z0-9]*_[a-z][a-z0-9]*$", keyDescription: "edge collection name (<from>_<to>)", value: .object(ObjectShape("A new edge collection.", [
                required("from", .text("The vertex collection the edge starts at (end1).")),
                required("to", .text("The vertex collection the edge ends at (end2).")),
                optional("properties", properties),
            ])), "New edge collections.")),
        ])

    /// A mapping's fan-out: one list, or named levels.
    static let fanOut: Shape = .either([
        .expression("One object per element of this list (as @)."),
        .map(keyPattern: identifier, keyDescription: "level name (lower case, digits, _)",
             value: .expression("A list; the expression can use the earlier levels by name."),
             "Named levels: one object per combination of their items; each level is a variable, the last also @."),
    ], "Fan-out: one object per element of a list, or per combination of named levels.")

    // MARK: The definition

    static let parameter: ObjectShape = ObjectShape(
        "A setting the user supplies.",
        [
            required("type", .choice(["text", "url", "password", "integer", "number", "boolean", "list"], "The value's type.")),
            optional("section", .choice(["connection", "auth", "parameter"], "Where CP4S asks for it: connection (CONNECTION_*), auth (CONFIGURATION_AUTH_*) or parameter (CONFIGURATION_PARAMETER_*); default parameter.")),
            optional("form", .choice(["text", "password", "number"], "The CP4S form field (default: text for text and url, password for secrets, number for integer and number; boolean and list need one).")),
            optional("regex", .text("A regular expression the value must match (the CP4S form checks it too).")),
            optional("min", .number("The smallest value of an integer or number.")),
            optional("max", .number("The largest value of an integer or number.")),
            optional("secret", .boolean("Never shown in logs and output (default true for password).")),
            optional("required", .boolean("Whether it must be given (default: true unless there is a default).")),
            optional("default", .json("The value when none is given.")),
            optional("label", .text("The label in the CP4S form.")),
            optional("description", .text("The help text.")),
            optional("placeholder", .text("The placeholder in the CP4S form.")),
            optional("flag", .text("The framework's flag for it, without the dash, when it is not the name (`auth_token` for -auth_token).")),
            optional("env", .text("Its environment variable, when it is not the section's (`CONFIGURATION_AUTH_TOKEN`); the CP4S field is named after it.")),
            optional("unused", .boolean("Accepted but not used: a flag or field IBM's deployments pass that this connector ignores (no unused-parameter warning).")),
        ])

    /// The shape of a whole definition file.
    public static let definition: ObjectShape = ObjectShape(
        "A car connector definition.",
        [
            required("format", .integer(1...1, "The definition format version: 1.")),
            required("connector", .object(ObjectShape("Who the connector is.", [
                required("name", .text("The connector's name (lower case, digits, - and _).")),
                required("version", .text("The connector's version (semantic versioning).")),
                optional("display_name", .text("The name shown to people.")),
                optional("description", .text("What the connector imports.")),
                optional("group", .text("The CP4S connection group (default: the name).")),
                optional("source", .object(ObjectShape("The envelopes' source object (its _key is the source name of the run).", [
                    optional("name", .text("The product's name (default: the source name).")),
                    optional("description", .text("What the product is.")),
                    optional("product_link", .text("The product's web page.")),
                ]))),
                optional("report", .object(ObjectShape("The envelopes' report object.", [
                    optional("type", .text("The report type (default: the connector's name).")),
                    optional("description", .text("The report's description (default: the display name).")),
                ]))),
                optional("schedule", .object(ObjectShape("When CP4S runs the connector (the connection form's schedule).", [
                    optional("default", .text("A five-field cron expression (default */15 * * * *).")),
                    optional("options", .list(.text("A cron expression; mm HH * * * lets the user pick a daily time."), "The choices offered (default every 5, 10, 15, 30 minutes, 1, 2, 4, 6, 12 hours, daily).")),
                ]))),
            ]))),
            optional("parameters", .map(keyPattern: parameterName, keyDescription: "parameter name (letters, digits, _; capitals as IBM's flags have them)", value: .object(parameter), "Settings the user supplies, by name.")),
            required("datasource", .object(ObjectShape("The datasource's HTTP API.", [
                required("base_url", .template("The API's base URL.")),
                optional("auth", .tagged(discriminator: "type", variants: authVariants, "How requests authenticate (default none).")),
                optional("headers", .map(keyPattern: nil, keyDescription: "header name", value: .template("A header value."), "Headers for every request.")),
                optional("query", .map(keyPattern: nil, keyDescription: "query parameter", value: queryValue, "Query parameters for every request.")),
                optional("tls", .object(ObjectShape("TLS settings.", [
                    optional("ca_bundle", .template("A PEM file of CA certificates to trust (empty: not used). Without ca_bundle and ca_pem, SSL_CERT_FILE, CURL_CA_BUNDLE or REQUESTS_CA_BUNDLE names the file, else the system's CAs are trusted.")),
                    optional("ca_pem", .template("CA certificates to trust as PEM text, typically from a password or text parameter (empty: not used); never logged.")),
                    optional("server_name", .template("The name TLS verifies and sends as SNI, and the Host header, for requests to the base URL's host; the connection still goes to the base URL's address (empty: not used).")),
                    optional("client_cert", .template("A PEM client certificate.")),
                    optional("client_key", .template("The client certificate's PEM key.")),
                    optional("insecure_skip_verify", .boolean("Skip certificate verification (logs a warning on every run).")),
                ]))),
                optional("timeouts", .object(ObjectShape("Time limits.", [
                    optional("connect", .duration("Connecting (default 10s).")),
                    optional("request", .duration("A whole request (default 60s).")),
                ]))),
                optional("retries", .object(ObjectShape("Default retries for 429, 503 and transport failures.", [
                    optional("max", .integer(0...100, "How many times (default 3).")),
                    optional("delay", .duration("The first delay (default 1s).")),
                    optional("max_delay", .duration("The longest delay (default 60s).")),
                ]))),
                optional("rate_limit", .object(ObjectShape("A limit on the request rate.", [
                    required("requests_per_second", .number("Requests per second.")),
                    optional("burst", .integer(1...10_000, "Requests allowed at once (default 1).")),
                ]))),
                optional("concurrency", .integer(1...64, "Requests in flight at once (default 4).")),
                optional("connection_test", .either([
                    .text("An endpoint whose first page is requested."),
                    .object(ObjectShape("A request and what counts as success.", [
                        required("request", .object(request)),
                        optional("expect_status", .list(.integer(100...599, "A status."), "Statuses that count as success (default any 2xx).")),
                    ])),
                ], "How --connection-test checks the datasource.")),
                optional("errors", errors),
            ]))),
            required("endpoints", .map(keyPattern: identifier, keyDescription: "endpoint name (lower case, digits, _)", value: .object(endpoint), "The datasource's endpoints, by name.")),
            optional("vertices", .map(keyPattern: identifier, keyDescription: "mapping name (lower case, digits, _)", value: .object(vertex), "Vertex mappings, by name (the name is the collection unless 'collection' says otherwise).")),
            optional("edges", .map(keyPattern: identifier, keyDescription: "mapping name (lower case, digits, _)", value: .object(edge), "Edge mappings, by name.")),
            optional("model_state", .object(modelState)),
            optional("deletions", .object(deletions)),
            optional("schema_extension", .object(schemaExtension)),
        ])
}
