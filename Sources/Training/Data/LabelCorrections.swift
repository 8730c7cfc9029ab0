/// Rows whose labels the log could not have shown when it was read, counted instead of rejected (real logs have
/// them): they train as what was observable at the snapshot.
public struct LabelCorrections: Sendable, Equatable {
    /// Clicked after the snapshot: trained as not (yet) clicked.
    public var clicksAfterSnapshot = 0
    /// Converted after the snapshot: trained as not (yet) converted.
    public var conversionsAfterSnapshot = 0
    /// Converted later than the attribution window after the click: no conversion, by the window's definition.
    public var conversionsAfterWindow = 0

    public init() {}

    public var total: Int { clicksAfterSnapshot + conversionsAfterSnapshot + conversionsAfterWindow }

    public static func + (a: Self, b: Self) -> Self {
        var sum = a
        sum.clicksAfterSnapshot += b.clicksAfterSnapshot
        sum.conversionsAfterSnapshot += b.conversionsAfterSnapshot
        sum.conversionsAfterWindow += b.conversionsAfterWindow
        return sum
    }

    public var description: String {
        "\(clicksAfterSnapshot) clicks and \(conversionsAfterSnapshot) conversions after the snapshot "
            + "(not yet observed), \(conversionsAfterWindow) conversions after the attribution window (no conversion)"
    }
}
