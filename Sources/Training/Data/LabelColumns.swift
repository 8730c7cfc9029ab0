/// The CSV columns holding labels and bookkeeping values. Only `click` and `conversion` are required.
/// Times are numbers in hours on one clock (any origin); an empty cell means "did not happen".
public struct LabelColumns: Codable, Sendable, Equatable {
    /// 0/1: the impression was clicked.
    public var click: String
    /// 0/1: a conversion was observed by the log snapshot (never 1 without a click).
    public var conversion: String
    public var impressionTime: String?
    public var clickTime: String?
    public var conversionTime: String?
    /// When the labels were read; elapsed time since the click = snapshot − click time.
    public var snapshotTime: String?
    /// Price of the item (for GMV-style reporting; the feature of the same name is separate).
    public var price: String?
    /// 0/1: the purchase was refunded (read and counted; no model uses it yet).
    public var refund: String?
    /// Request or page id (GAUC by request).
    public var requestID: String?
    /// User id (GAUC by user).
    public var userID: String?

    public init(
        click: String, conversion: String, impressionTime: String? = nil, clickTime: String? = nil,
        conversionTime: String? = nil, snapshotTime: String? = nil, price: String? = nil, refund: String? = nil,
        requestID: String? = nil, userID: String? = nil
    ) {
        self.click = click
        self.conversion = conversion
        self.impressionTime = impressionTime
        self.clickTime = clickTime
        self.conversionTime = conversionTime
        self.snapshotTime = snapshotTime
        self.price = price
        self.refund = refund
        self.requestID = requestID
        self.userID = userID
    }

    private enum CodingKeys: String, CodingKey {
        case click, conversion, price, refund
        case impressionTime = "impression_time"
        case clickTime = "click_time"
        case conversionTime = "conversion_time"
        case snapshotTime = "snapshot_time"
        case requestID = "request_id"
        case userID = "user_id"
    }
}
