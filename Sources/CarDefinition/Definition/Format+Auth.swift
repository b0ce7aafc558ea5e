/// The auth variants of the definition format.
extension DefinitionFormat {
    static let authVariants: [(name: String, shape: ObjectShape)] = [
        ("none", ObjectShape("No authentication.", [])),
        ("basic", ObjectShape("HTTP Basic authentication.", [
            required("username", .template("The user name.")),
            required("password", .template("The password.")),
        ])),
        ("bearer", ObjectShape("An Authorization: Bearer token.", [
            required("token", .template("The token.")),
        ])),
        ("api_key", ObjectShape("A static key in a header or in the query.", exclusive: [["header", "query"]], [
            required("value", .template("The key.")),
            optional("header", .text("The header that carries it (default Authorization).")),
            optional("prefix", .text("Text before the key in the header, such as 'SSWS ' or 'Token '.")),
            optional("query", .text("The query parameter that carries it, instead of a header.")),
        ])),
        ("oauth2_client_credentials", ObjectShape("OAuth 2.0 client credentials; the token is cached until shortly before it expires.", [
            required("token_url", .template("The token endpoint (absolute, or relative to base_url).")),
            required("client_id", .template("The client id.")),
            required("client_secret", .template("The client secret.")),
            optional("scope", .template("The scope to ask for.")),
            optional("audience", .template("The audience to ask for.")),
            optional("credentials", .choice(["body", "basic"], "How the client id and secret are sent (default body).")),
            optional("extra", .map(keyPattern: nil, keyDescription: "form field", value: .template("A value."), "More form fields for the token request.")),
        ])),
        ("aws_sigv4", ObjectShape("AWS Signature Version 4: every request is signed (header auth, as botocore signs).", [
            required("access_key_id", .template("The access key id.")),
            required("secret_access_key", .template("The secret access key (a password parameter).")),
            optional("session_token", .template("A session token (X-Amz-Security-Token); empty = none.")),
            required("region", .template("The region signed for, e.g. us-east-1.")),
            required("service", .template("The service's signing name, e.g. ec2, rds, cloudtrail.")),
        ])),
        ("oauth2_jwt_bearer", ObjectShape("OAuth 2.0 JWT bearer grant (RFC 7523) with an RS256 assertion, as Google service accounts use; the token is cached until shortly before it expires.", [
            required("token_url", .template("The token endpoint (a service account key's token_uri).")),
            required("issuer", .template("The assertion's iss (a service account's client_email).")),
            optional("subject", .template("The assertion's sub (default: the issuer).")),
            required("private_key", .template("The RSA private key, PEM (a password parameter; \\n escapes are read as line breaks).")),
            optional("scope", .template("The scopes asked for, space-separated.")),
            optional("audience", .template("The assertion's aud (default: token_url).")),
        ])),
        ("session", ObjectShape("A login request whose answer (a token or a cookie) authenticates later requests; on a 401 the engine logs in again once.", exclusive: [["token", "cookie"]], [
            required("login", .object(request)),
            optional("token", .expression("Where the token is in the login response ($ = body), e.g. $.access_token; `text` when the answer is the token itself as plain text.")),
            optional("cookie", .text("The name of the cookie the login sets.")),
            optional("header", .text("The header that carries the token (default Authorization).")),
            optional("prefix", .text("Text before the token in the header (e.g. 'Bearer ').")),
            optional("query", .text("The query parameter that carries the token, instead of a header.")),
            optional("expires_in", .expression("Seconds until the token expires, from the login response ($).")),
        ])),
    ]
}
