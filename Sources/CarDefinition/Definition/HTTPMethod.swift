/// An HTTP method.
public enum HTTPMethod: String, Sendable, CaseIterable, CustomStringConvertible {
    case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE", head = "HEAD"

    public var description: String { rawValue }
}
