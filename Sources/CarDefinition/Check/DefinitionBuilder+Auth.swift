import MappingDSL

/// Building a datasource's or an endpoint's auth.
extension DefinitionBuilder {
    mutating func auth(_ node: YAMLNode?) -> AuthSpec {
        guard let node, let type = text(node, "type") else { return .none }
        let scope = requestScope()
        switch type {
        case "basic":
            guard let u = template(node["username"], scope: scope), let p = template(node["password"], scope: scope) else { return .none }
            return .basic(username: u, password: p)
        case "bearer":
            guard let t = template(node["token"], scope: scope) else { return .none }
            return .bearer(token: t)
        case "api_key":
            guard let v = template(node["value"], scope: scope) else { return .none }
            return .apiKey(value: v, header: text(node, "header"), prefix: text(node, "prefix") ?? "", query: text(node, "query"))
        case "oauth2_client_credentials":
            guard let url = template(node["token_url"], scope: scope), let id = template(node["client_id"], scope: scope),
                let secret = template(node["client_secret"], scope: scope)
            else { return .none }
            return .oauth2ClientCredentials(
                tokenURL: url, clientID: id, clientSecret: secret, scope: template(node["scope"], scope: scope),
                audience: template(node["audience"], scope: scope), credentialsInBody: text(node, "credentials") != "basic",
                extra: templateMap(node["extra"], scope: scope))
        case "aws_sigv4":
            guard let key = template(node["access_key_id"], scope: scope), let secret = template(node["secret_access_key"], scope: scope),
                let region = template(node["region"], scope: scope), let service = template(node["service"], scope: scope)
            else { return .none }
            return .awsSigV4(accessKeyID: key, secretAccessKey: secret, sessionToken: template(node["session_token"], scope: scope), region: region, service: service)
        case "oauth2_jwt_bearer":
            guard let url = template(node["token_url"], scope: scope), let issuer = template(node["issuer"], scope: scope),
                let key = template(node["private_key"], scope: scope)
            else { return .none }
            return .oauth2JWTBearer(tokenURL: url, issuer: issuer, subject: template(node["subject"], scope: scope), privateKey: key,
                                    scope: template(node["scope"], scope: scope), audience: template(node["audience"], scope: scope))
        case "session":
            let login = request(node["login"], scope: scope)
            let responseScope = requestScope(document: true)
            // `token: text`: the whole answer (trimmed) is the token, as Qualys' gateway gives it.
            let bodyIsToken = node["token"]?.scalarText == "text" && node["token"]?.style == .plain
            let token = bodyIsToken ? nil : expression(node["token"], scope: responseScope, what: "'token'")
            if node["token"] == nil && node["cookie"] == nil {
                error("a session login needs 'token' (where the token is in the response) or 'cookie' (its name)", node.location)
            }
            if node["login"]?["path"] == nil, let l = node["login"] {
                error("the login request needs a 'path'", l.location)
            }
            return .session(
                login: login, token: token, cookie: text(node, "cookie"), header: text(node, "header"),
                prefix: text(node, "prefix") ?? "", query: text(node, "query"),
                expiresIn: expression(node["expires_in"], scope: responseScope, expect: .number, what: "'expires_in'"), bodyIsToken: bodyIsToken)
        default:
            return .none
        }
    }
}
