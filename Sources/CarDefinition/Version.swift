public enum CarEngineVersion { public static let current = "0.1.0" }
