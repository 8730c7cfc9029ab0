/// A configuration value the daemon cannot run with, described by the key it names.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}
