import MappingDSL

extension DefinitionBuilder {
    /// Builds the definition; `nil` only when the root is unusable.
    mutating func build(_ root: YAMLNode) -> ConnectorDefinition? {
        guard root.pairs != nil else { return nil }
        // Endpoint names first: every other section refers to them.
        let endpointsNode = root["endpoints"]
        hasEndpointsSection = endpointsNode?.pairs != nil
        var keyNames: [String: Set<String>] = [:]
        for (k, v) in endpointsNode?.pairs ?? [] {
            guard let n = k.scalarText else { continue }
            endpointNames.insert(n)
            endpointNodes[n] = v
            keyNames[n] = Set((v["keys"]?.pairs ?? []).compactMap { $0.key.scalarText })
        }
        hostFunctions = HostFunctions.table(endpoints: endpointNames, keys: keyNames)

        let parameters = buildParameters(root["parameters"])
        checkForCP4S(parameters, root["parameters"])
        declareVariables(parameters: parameters, endpoints: endpointsNode)

        let connector = ConnectorInfo(
            name: text(root["connector"], "name") ?? "", version: text(root["connector"], "version") ?? "",
            displayName: text(root["connector"], "display_name"), description: text(root["connector"], "description"),
            group: text(root["connector"], "group"), schedule: text(root["connector"]?["schedule"], "default"),
            scheduleOptions: root["connector"]?["schedule"]?["options"]?.items?.compactMap(\.scalarText),
            source: SourceInfo(name: text(root["connector"]?["source"], "name"), description: text(root["connector"]?["source"], "description"),
                               productLink: text(root["connector"]?["source"], "product_link"),
                               reportType: text(root["connector"]?["report"], "type"), reportDescription: text(root["connector"]?["report"], "description")))
        checkSchedule(root["connector"]?["schedule"])
        checkConnector(root["connector"])

        var catalogue = CARCatalogue.core
        let schemaExtension = buildSchemaExtension(root["schema_extension"], catalogue: &catalogue)

        let datasource = buildDatasource(root["datasource"])
        var endpoints: [String: Endpoint] = [:]
        var order: [String] = []
        for (k, v) in endpointsNode?.pairs ?? [] {
            guard let name = k.scalarText else { continue }
            endpoints[name] = buildEndpoint(name, v, keyLocation: k.location)
            order.append(name)
        }
        checkForEachCycles(endpoints, endpointsNode)

        var vertices: [Mapping] = []
        for (k, v) in root["vertices"]?.pairs ?? [] {
            guard let name = k.scalarText, let m = buildMapping(name, v, keyNode: k, isEdge: false, catalogue: catalogue, endpoints: endpoints) else { continue }
            vertices.append(m)
        }
        var edges: [Mapping] = []
        for (k, v) in root["edges"]?.pairs ?? [] {
            guard let name = k.scalarText, let m = buildMapping(name, v, keyNode: k, isEdge: true, catalogue: catalogue, endpoints: endpoints) else { continue }
            edges.append(m)
        }
        checkEdgeTargets(edges, vertices: vertices, catalogue: catalogue)

        let modelState = buildModelState(root["model_state"], endpoints: endpoints)
        let deletions = buildDeletions(root["deletions"], catalogue: catalogue)

        if root["vertices"] == nil && root["edges"] == nil {
            warning("the definition maps nothing: add 'vertices' or 'edges'", root.location)
        }
        // Unused parameters and endpoints are often the echo of an error elsewhere: report them
        // only for a definition without errors.
        if !diagnostics.hasErrors {
            warnUnused(parameters: parameters, endpointsNode: endpointsNode, datasource: datasource)
        }

        for name in keyedLookupEndpoints.sorted() where endpoints[name]?.forEach != nil {
            error("endpoint '\(name)' is looked up by key, so it is read whole first; a for_each endpoint cannot be (look its parent up instead)",
                  endpoints[name]?.location)
        }
        var definition = ConnectorDefinition(
            path: path, connector: connector, parameters: parameters, datasource: datasource, endpoints: endpoints,
            endpointOrder: order, vertices: vertices, edges: edges, modelState: modelState, deletions: deletions,
            schemaExtension: schemaExtension, catalogue: catalogue, variables: variables, lookupEndpoints: lookupEndpoints,
            lookupsByEndpoint: lookupsByEndpoint)
        definition.keyedLookupEndpoints = keyedLookupEndpoints
        return definition
    }

    // MARK: Connector and parameters

    mutating func checkConnector(_ node: YAMLNode?) {
        for section in ["source", "report"] {
            for (k, v) in node?[section]?.pairs ?? [] where v.scalarText?.contains("${") == true {
                error("connector.\(section).\(k.scalarText ?? "") is text, not a template (the source's _key is always the run's source name)", v.location)
            }
        }
        if let n = node?["name"], let name = n.scalarText, !DefinitionBuilder.matches(name, "^[a-z0-9][a-z0-9_-]*$") {
            error("connector name '\(name)' must be lower case letters, digits, - and _", n.location)
        }
        if let n = node?["version"], let v = n.scalarText, !DefinitionBuilder.matches(v, #"^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$"#) {
            error("connector version '\(v)' is not a semantic version such as 1.0.0", n.location)
        }
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return (try? regex.wholeMatch(in: text)) != nil
    }

    mutating func buildParameters(_ node: YAMLNode?) -> [Parameter] {
        var out: [Parameter] = []
        for (k, v) in node?.pairs ?? [] {
            guard let name = k.scalarText, let kindText = text(v, "type"), let kind = Parameter.Kind(rawValue: kindText) else { continue }
            if VariableTable.reservedNames.contains(name) {
                error("parameter name '\(name)' is reserved for a run value; choose another name", k.location)
            }
            if hostFunctions[name] != nil {
                warning("parameter '\(name)' has the name of a function; calls still mean the function", k.location)
            }
            let defaultNode = v["default"]
            let defaultValue = defaultNode.map(\.json)
            if let d = defaultValue, let dn = defaultNode, !d.isNull, TypeSet.of(d).intersection(kind.type).isEmpty {
                error("the default of parameter '\(name)' must be \(kind.type), found \(d.typeName)", dn.location)
            }
            let secret = bool(v, "secret") ?? (kind == .password)
            if secret, let dn = defaultNode, case .string(let s)? = defaultValue, !s.isEmpty {
                warning("secret parameter '\(name)' has a default value; the value is in the definition for anyone to read", dn.location)
            }
            let required = bool(v, "required") ?? (defaultValue == nil)
            out.append(Parameter(
                name: name, kind: kind, section: text(v, "section") ?? "parameter", secret: secret, required: required,
                defaultValue: defaultValue, label: text(v, "label"), description: text(v, "description"),
                placeholder: text(v, "placeholder"), location: k.location, form: text(v, "form"), regex: text(v, "regex"),
                min: number(v, "min"), max: number(v, "max"), flag: text(v, "flag"), environment: text(v, "env"),
                acceptedOnly: bool(v, "unused") ?? false))
            checkFlagAndVariable(out[out.count - 1], v)
        }
        return out
    }

    mutating func declareVariables(parameters: [Parameter], endpoints: YAMLNode?) {
        for p in parameters { variables.add(p.name, p.kind.type, .parameter, p.description ?? "The parameter \(p.name).") }
        for (n, t, s) in VariableTable.runVariables { variables.add(n, t, .run, s) }
        for (n, t, s) in VariableTable.pagingVariables { variables.add(n, t, .paging, s) }
        variables.add("ids", .array, .ids, "The ids of one by-id request.")
        variables.add("endpoint", .string, .endpoint, "The endpoint whose changes are read from the delta.")
        for (k, v) in endpoints?.pairs ?? [] {
            guard let name = k.scalarText, let alias = text(v["for_each"], "as") else { continue }
            if variables.entries[alias] != nil, let n = v["for_each"]?["as"] {
                if variables.entries[alias]?.group != .parent(alias) {
                    error("'\(alias)' is already the name of a parameter or run value", n.location)
                }
                continue
            }
            _ = name
            variables.add(alias, [.object, .null], .parent(alias), "The parent record.")
        }
    }

    /// Scope of templates in requests: parameters and run values, plus the given groups.
    func requestScope(_ extra: Set<VariableTable.Group> = [], document: Bool = false) -> Scope {
        variables.scope(Set<VariableTable.Group>([.parameter, .run]).union(extra), document: document, functions: functions)
    }

    // MARK: Datasource

    mutating func buildDatasource(_ node: YAMLNode?) -> DatasourceSpec {
        let scope = requestScope()
        let baseURL = template(node?["base_url"], scope: scope)
        var ds = DatasourceSpec(baseURL: baseURL ?? .literal(""))
        if let b = node?["base_url"], let baseURL, baseURL.isLiteral, case .text(let s)? = baseURL.parts.first,
            !(s.hasPrefix("http://") || s.hasPrefix("https://"))
        {
            error("base_url must start with http:// or https://, found '\(s)'", b.location)
        }
        ds.auth = auth(node?["auth"])
        ds.headers = templateMap(node?["headers"], scope: scope)
        ds.query = queryMap(node?["query"], scope: scope)
        let tls = node?["tls"]
        ds.tls = TLSSpec(
            caBundle: template(tls?["ca_bundle"], scope: scope), caPEM: template(tls?["ca_pem"], scope: scope),
            serverName: template(tls?["server_name"], scope: scope), clientCert: template(tls?["client_cert"], scope: scope),
            clientKey: template(tls?["client_key"], scope: scope), insecureSkipVerify: bool(tls, "insecure_skip_verify") ?? false)
        if (tls?["client_cert"] == nil) != (tls?["client_key"] == nil), let t = tls {
            error("tls needs both 'client_cert' and 'client_key', or neither", t.location)
        }
        if let c = duration(node?["timeouts"], "connect") { ds.connectTimeoutMs = c }
        if let r = duration(node?["timeouts"], "request") { ds.requestTimeoutMs = r }
        if let r = int(node?["retries"], "max") { ds.retries.retries = Int(r) }
        if let d = duration(node?["retries"], "delay") { ds.retries.delayMs = d }
        if let d = duration(node?["retries"], "max_delay") { ds.retries.maxDelayMs = d }
        if let rl = node?["rate_limit"] {
            ds.requestsPerSecond = rl["requests_per_second"]?.scalarValue?.doubleValue
            if let r = ds.requestsPerSecond, r <= 0, let n = rl["requests_per_second"] {
                error("requests_per_second must be above 0", n.location)
            }
            if let b = int(rl, "burst") { ds.burst = Int(b) }
        }
        if let c = int(node, "concurrency") { ds.concurrency = Int(c) }
        if let test = node?["connection_test"] {
            if let name = test.string {
                if endpointNames.contains(name) {
                    usedEndpoints.insert(name)
                    ds.connectionTest = .endpoint(name)
                } else {
                    error("unknown endpoint '\(name)'\(Suggest.hint(for: name, in: endpointNames))", test.location)
                }
            } else if test.pairs != nil {
                let statuses = test["expect_status"]?.items?.compactMap { n -> Int? in
                    if case .int(let i)? = n.scalarValue { return Int(i) } else { return nil }
                } ?? []
                ds.connectionTest = .request(request(test["request"], scope: scope), expectStatus: statuses)
            }
        }
        ds.errors = errorRules(node?["errors"], scope: scope)
        return ds
    }

    // MARK: Endpoints

    mutating func buildEndpoint(_ name: String, _ node: YAMLNode, keyLocation: SourceLocation) -> Endpoint {
        var groups: Set<VariableTable.Group> = [.paging]
        var parent: (String, String)?
        // Records fetched by the ids a for_each endpoint lists: that endpoint's parent is
        // reachable in this one's requests (DescribeTasks needs the cluster ListTasks ran for).
        if let source = text(node, "ids_from"), let alias = endpointNodes[source]?["for_each"]?["as"]?.scalarText {
            groups.insert(.parent(alias))
        }
        if let fe = node["for_each"], let target = text(fe, "endpoint"), let alias = text(fe, "as") {
            if !endpointNames.contains(target) {
                error("unknown endpoint '\(target)'\(Suggest.hint(for: target, in: endpointNames))", fe["endpoint"]?.location)
            } else if target == name {
                error("an endpoint cannot iterate over its own records", fe["endpoint"]?.location)
            }
            usedEndpoints.insert(target)
            groups.insert(.parent(alias))
            parent = (target, alias)
        }
        let scope = requestScope(groups)
        var request = self.request(node, scope: scope)
        if request.path == nil {
            if node["path"] == nil { error("endpoint '\(name)' needs a 'path'", keyLocation) }
            request.path = .literal("")
        }
        let responseScope = requestScope(groups, document: true)
        let recordScope = variables.scope([.parameter, .run], document: true, functions: functions)
        var endpoint = Endpoint(name: name, request: request, location: keyLocation)
        endpoint.records = expression(node["records"], scope: responseScope, expect: [.array, .object], what: "'records'")
        endpoint.id = expression(node["id"], scope: recordScope, expect: [.string, .int], what: "'id'")
        endpoint.baseURL = template(node["base_url"], scope: requestScope())
        if let source = text(node, "ids_from") {
            if !endpointNames.contains(source) {
                error("unknown endpoint '\(source)'\(Suggest.hint(for: source, in: endpointNames))", node["ids_from"]?.location)
            } else if source == name {
                error("an endpoint cannot list its own ids", node["ids_from"]?.location)
            }
            if node["by_ids"] == nil { error("ids_from needs by_ids: the records are fetched by the ids \(source) lists", node["ids_from"]?.location) }
            usedEndpoints.insert(source)
            endpoint.idsFrom = source
        }
        if let a = node["auth"] { endpoint.auth = auth(a) }
        for (k, v) in node["keys"]?.pairs ?? [] {
            guard let keyName = k.scalarText, let value = expression(v, scope: recordScope, what: "key '\(keyName)'") else { continue }
            endpoint.keys.append((keyName, value))
        }
        endpoint.format = text(node, "format").flatMap(ResponseFormat.init) ?? .json
        endpoint.single = bool(node, "single") ?? false
        if endpoint.single, let p = node["pagination"] {
            error("a 'single' endpoint answers one record per request: it has no pages", p.location)
        }
        endpoint.forEach = parent.map { (endpoint: $0.0, variable: $0.1) }
        endpoint.errors = errorRules(node["errors"], scope: scope)
        if let p = node["pagination"] { endpoint.pagination = pagination(p, scope: responseScope) }
        if let b = node["by_ids"] {
            let idScope = requestScope(Set<VariableTable.Group>([.ids]).union(groups.subtracting([.paging])))
            var by = ByIDs()
            by.path = template(b["path"], scope: idScope)
            by.query = queryMap(b["query"], scope: idScope)
            by.body = body(b["body"], scope: idScope)
            if let m = int(b, "max_ids") { by.maxIDs = Int(m) }
            if let m = int(b, "max_url_length") { by.maxURLLength = Int(m) }
            let usesIDs = (by.query.flatMap(\.values) + [by.path].compactMap { $0 }).contains { t in
                t.expressions.contains { $0.variables.contains("ids") }
            } || by.body != nil
            if !usesIDs {
                error("by_ids must use ${ids} in its query, path or body", b.location)
            }
            endpoint.byIDs = by
        }
        if let u = node["updated_since"] {
            endpoint.updatedSinceQuery = queryMap(u["query"], scope: scope)
            endpoint.updatedSinceBody = u["body"].map { jsonTemplate($0, scope: scope) }
        }
        return endpoint
    }

    mutating func pagination(_ node: YAMLNode, scope: Scope) -> Pagination {
        var p = Pagination()
        p.hasMore = expression(node["has_more"], scope: scope, expect: .bool, what: "'has_more'")
        p.total = expression(node["total"], scope: scope, expect: .number, what: "'total'")
        p.stopOnShortPage = bool(node, "stop_on_short_page")
        p.maxPages = int(node, "max_pages").map(Int.init)
        p.allowOtherHosts = bool(node, "allow_other_hosts") ?? false
        switch text(node, "type") {
        case "page":
            let param = text(node, "param") ?? "page"
            p.kind = .page(param: param.isEmpty ? nil : param, start: Int(int(node, "start") ?? 1),
                           size: int(node, "size").map(Int.init) ?? (node["size"]?.scalarValue?.stringValue != nil ? 1 : nil), sizeParam: text(node, "size_param"))
            if node["size"]?.scalarValue?.stringValue != nil { p.sizeTemplate = template(node["size"], scope: requestScope()) }
            if node["size_param"] != nil && node["size"] == nil, let k = keyNode(node, "size_param") {
                error("'size_param' needs 'size'", k.location)
            }
        case "offset":
            p.kind = .offset(offsetParam: text(node, "offset_param") ?? "offset", limitParam: text(node, "limit_param") ?? "limit",
                             limit: Int(int(node, "limit") ?? 100))
            if node["limit"]?.scalarValue?.stringValue != nil { p.sizeTemplate = template(node["limit"], scope: requestScope()) }
        case "cursor":
            if let next = expression(node["next"], scope: scope, expect: [.string, .int], what: "'next'") {
                p.kind = .cursor(next: next, param: text(node, "param"))
            }
        case "next_url":
            if let next = expression(node["next"], scope: scope, expect: .string, what: "'next'") { p.kind = .nextURL(next: next) }
        case "link_header":
            p.kind = .linkHeader(rel: text(node, "rel") ?? "next")
        case "time_window":
            let startScope = variables.scope([.parameter, .run], document: false, functions: functions)
            if let start = expression(node["start"], scope: startScope, expect: .number, what: "'start'"),
                let step = duration(node, "step")
            {
                if step <= 0, let s = node["step"] { error("a time window's step must be longer than 0", s.location) }
                p.kind = .timeWindow(start: start, stepMs: step)
            }
        default:
            break
        }
        return p
    }

    mutating func checkForEachCycles(_ endpoints: [String: Endpoint], _ node: YAMLNode?) {
        for (name, _) in endpoints {
            var seen: Set<String> = [name]
            var current = endpoints[name]?.forEach?.endpoint
            while let c = current {
                if seen.contains(c) {
                    if c == name, let n = node?[name]?["for_each"] {
                        error("endpoints iterate over each other in a cycle (\(seen.sorted().joined(separator: ", ")))", n.location)
                    }
                    break
                }
                seen.insert(c)
                current = endpoints[c]?.forEach?.endpoint
            }
        }
    }
}
