import Ranking

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A synthetic impression → click → purchase world with known ground truth (seeded, deterministic).
///
/// What makes it hard, on purpose:
/// - *Selection bias*: an item's hidden "clickbait" trait κ raises its click logit (+0.8κ) and lowers its
///   purchase logit (−0.9κ), so the clicked population over-represents items that rarely sell.
/// - *Sparse conversions*: ≈ 4% of impressions are clicked and ≈ 12% of clicks convert (fewer with a negative
///   `conversionLogitShift`).
/// - *Delays*: each category has its own log-normal click → purchase delay (medians 0.5 h … 60 h, σ = 1),
///   capped by the 7-day window; training labels are read at the end of the training days, so late
///   conversions of recent clicks are not yet visible (censored).
/// - *Privileged signals*: dwell time, add-to-cart and reviews viewed exist only for clicks and depend on the
///   purchase intention — informative for a teacher, unavailable when serving.
/// - Prices per category (log-normal) with user-specific price sensitivity in the purchase logit.
/// Observable proxies of the hidden traits (thumbnail score ≈ κ, rating ≈ quality) are noisy features.
///
/// Structure knobs (`SimulationConfiguration`, `simulate --preset`) scale the hidden tastes, add observable
/// segment × category and brand effects, scale the selection bias and the delays, decorrelate purchase taste from
/// click taste and steepen item popularity. Their draws come from a stream of their own, so with every knob at its
/// default the files are byte for byte those of the original world.
public struct WorldSimulator {
    struct User {
        var segment: Int, gender: Int, age: Int
        var latent: [Double]
        /// What drives purchases besides click taste (used when `purchaseTasteCorrelation` < 1).
        var purchaseLatent: [Double] = []
        var priceSensitivity: Double, activity: Double
        var favourites: [Int]
    }

    struct Item {
        var category: Int, brand: Int, shop: Int
        var latent: [Double]
        var price: Double, clickbait: Double, quality: Double
        var thumbnailScore: Double, rating: Double
    }

    struct Category {
        var latent: [Double]
        var medianDelayHours: Double
        var medianPrice: Double
    }

    public let configuration: SimulationConfiguration
    public static let attributionWindowHours = 168.0
    let categories: [Category]
    let users: [User]
    let items: [Item]
    /// Cumulative popularity (Zipf-like) for sampling items.
    let popularity: [Double]
    /// Observable effects: [segment][category] and per brand (all zero when `observableStrength` is 0).
    let segmentCategoryEffect: [[Double]]
    let brandEffect: [Double]

    public init(configuration: SimulationConfiguration) {
        self.configuration = configuration
        var random = SplitMix64(seed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ 17)
        let dimensions = 4
        func vector(_ scale: Double) -> [Double] { (0..<dimensions).map { _ in scale * random.normal() } }
        var categories: [Category] = []
        for _ in 0..<configuration.categories {
            categories.append(
                Category(
                    latent: vector(1), medianDelayHours: exp(random.uniform(log(0.5), log(60))),
                    medianPrice: exp(random.uniform(log(5), log(500)))))
        }
        var users: [User] = []
        for _ in 0..<configuration.users {
            let latent = vector(1)
            // Favourite categories: the three best matches of a few random ones.
            let candidates = (0..<8).map { _ in Int(random.next() % UInt64(configuration.categories)) }
            let favourites = Array(
                Set(candidates).sorted().sorted {
                    Self.dot(latent, categories[$0].latent) > Self.dot(latent, categories[$1].latent)
                }
                .prefix(3))
            users.append(
                User(
                    segment: Int(random.next() % 12), gender: Int(random.next() % 3), age: 18 + Int(random.next() % 52),
                    latent: latent, priceSensitivity: 0.5 + 0.4 * random.normal(), activity: 0.5 * random.normal(),
                    favourites: favourites))
        }
        var items: [Item] = []
        for _ in 0..<configuration.items {
            let category = Int(random.next() % UInt64(configuration.categories))
            let latent = zip(categories[category].latent, vector(0.6)).map { $0 + $1 }
            let clickbait = random.normal(), quality = random.normal()
            items.append(
                Item(
                    category: category, brand: category * 12 + Int(random.next() % 12), shop: Int(random.next() % 300),
                    latent: latent, price: categories[category].medianPrice * exp(0.5 * random.normal()),
                    clickbait: clickbait, quality: quality, thumbnailScore: clickbait + 0.7 * random.normal(),
                    rating: quality + 1.0 * random.normal()))
        }
        var cumulative: [Double] = []
        var total = 0.0
        for rank in 0..<configuration.items {
            total += 1 / pow(Double(rank) + 10, configuration.popularityExponent)
            cumulative.append(total)
        }
        // The structure knobs draw from their own stream: the original world's draws above stay as they were.
        var structure = SplitMix64(seed: configuration.seed &* 0x2545_F491_4F6C_DD1D &+ 29)
        for index in users.indices { users[index].purchaseLatent = (0..<dimensions).map { _ in structure.normal() } }
        segmentCategoryEffect = (0..<12).map { _ in (0..<configuration.categories).map { _ in structure.normal() } }
        brandEffect = (0..<configuration.categories * 12).map { _ in 0.5 * structure.normal() }
        self.categories = categories
        self.users = users
        self.items = items
        popularity = cumulative.map { $0 / total }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// The schema of the files `write` produces. Field names follow config/models/default.json where the meaning
    /// matches (user_id, user_age, user_recent_categories — the user's favourite categories here —, device,
    /// hour_of_day, item_id, item_category, price …), so one example request scores against both models.
    public static func schema(configuration: SimulationConfiguration) -> TrainingSchema {
        let fields: [FieldSpec] = [
            FieldSpec(
                name: "user_id", group: .user, kind: .categorical(buckets: 1 + configuration.users * 3 / 2),
                dimension: 8),
            FieldSpec(name: "user_segment", group: .user, kind: .categorical(buckets: 16), dimension: 4),
            FieldSpec(name: "user_gender", group: .user, kind: .categorical(buckets: 4), dimension: 2),
            FieldSpec(
                name: "user_age", group: .user, kind: .numeric(.bucketize(boundaries: [18, 25, 35, 45, 60])),
                dimension: 4),
            FieldSpec(
                name: "user_recent_categories", group: .user,
                kind: .multiCategorical(buckets: 1 + configuration.categories * 2, pooling: .mean, maxValues: 3),
                dimension: 8,
                missing: .zero),
            FieldSpec(name: "hour_of_day", group: .context, kind: .categorical(buckets: 32), dimension: 4),
            FieldSpec(name: "device", group: .context, kind: .categorical(buckets: 4), dimension: 2),
            FieldSpec(name: "page", group: .context, kind: .categorical(buckets: 8), dimension: 2),
            FieldSpec(
                name: "item_id", group: .item, kind: .categorical(buckets: 1 + configuration.items * 3 / 2),
                dimension: 8),
            FieldSpec(
                name: "item_category", group: .item, kind: .categorical(buckets: 1 + configuration.categories * 2),
                dimension: 8),
            FieldSpec(
                name: "item_brand", group: .item, kind: .categorical(buckets: 1 + configuration.categories * 24),
                dimension: 4),
            FieldSpec(name: "item_shop", group: .item, kind: .categorical(buckets: 601), dimension: 4),
            FieldSpec(name: "price", group: .item, kind: .numeric(.log1p), dimension: 1, missing: .reject),
            FieldSpec(name: "thumbnail_score", group: .item, kind: .numeric(.identity), dimension: 1),
            FieldSpec(name: "item_rating", group: .item, kind: .numeric(.identity), dimension: 1),
            FieldSpec(name: "dwell_seconds", group: .privileged, kind: .numeric(.log1p), dimension: 1),
            FieldSpec(name: "add_to_cart", group: .privileged, kind: .categorical(buckets: 4), dimension: 2),
            FieldSpec(name: "reviews_viewed", group: .privileged, kind: .numeric(.log1p), dimension: 1),
        ]
        return TrainingSchema(
            features: FeatureSpec(hashSeed: 20_261_122, fields: fields),
            labels: LabelColumns(
                click: "click", conversion: "conversion", impressionTime: "impression_time", clickTime: "click_time",
                conversionTime: "conversion_time", snapshotTime: "snapshot_time", price: "price",
                requestID: "request_id",
                userID: "user_id"),
            delay: DelayBuckets(attributionWindowHours: attributionWindowHours))
    }

    static let header = [
        "request_id", "user_id", "user_segment", "user_gender", "user_age", "user_recent_categories", "hour_of_day",
        "device",
        "page", "position", "item_id", "item_category", "item_brand", "item_shop", "price", "thumbnail_score",
        "item_rating", "dwell_seconds", "add_to_cart", "reviews_viewed", "click", "conversion", "impression_time",
        "click_time", "conversion_time", "snapshot_time",
    ]

    public struct Summary: Sendable {
        public var rows = 0, clicks = 0, conversionsObserved = 0, conversionsEventual = 0
    }

    /// Writes `rows` impressions over [startHours, endHours) with labels read at `snapshotHours`.
    public func write(
        dataPath: String, truthPath: String, rows: Int, startHours: Double, endHours: Double, snapshotHours: Double,
        stream: UInt64
    ) throws -> Summary {
        var random = SplitMix64(seed: configuration.seed &* 0xD1B5_4A32_D192_ED03 &+ stream)
        let data = try TextFileWriter(path: dataPath)
        let truth = try TextFileWriter(path: truthPath)
        data.line(Self.header.joined(separator: ","))
        truth.line(SimulationTruth.header.joined(separator: ","))
        let perRequest = configuration.candidatesPerRequest
        let requests = (rows + perRequest - 1) / perRequest
        var summary = Summary()
        let window = Self.attributionWindowHours
        for request in 0..<requests {
            // Requests in time order: the files are time-ordered like production logs.
            let time = startHours + (Double(request) + random.nextUnit()) / Double(requests) * (endHours - startHours)
            let userIndex = Int(random.next() % UInt64(users.count))
            let user = users[userIndex]
            let device = Int(random.next() % 3), page = Int(random.next() % 4)
            let hour = Int(time) % 24
            let requestID = "r\(stream)-\(request)"
            for position in 0..<min(perRequest, rows - request * perRequest) {
                let itemIndex = sampleItem(&random)
                let item = items[itemIndex]
                let category = categories[item.category]
                let knobs = configuration
                let affinity = knobs.latentStrength * Self.dot(user.latent, item.latent) / 2
                let rho = knobs.purchaseTasteCorrelation
                let purchaseAffinity =
                    rho == 1
                    ? affinity
                    : rho * affinity + (1 - rho * rho).squareRoot() * knobs.latentStrength
                        * Self.dot(user.purchaseLatent, item.latent) / 2
                let clickbait = knobs.selectionBias * item.clickbait
                let observable =
                    knobs.observableStrength
                    * (segmentCategoryEffect[user.segment][item.category] + brandEffect[item.brand])
                let favourite = user.favourites.contains(item.category) ? 1.0 : 0.0
                let ctrLogit =
                    -3.4 + 0.6 * affinity + 0.8 * clickbait - 0.1 * Double(position) + 0.3 * user.activity
                    + 0.2 * (device == 1 ? 1 : 0) + 0.4 * favourite + observable
                let cvrLogit =
                    -2.4 + configuration.conversionLogitShift + 0.7 * item.quality - 0.9 * clickbait
                    + 0.5 * purchaseAffinity - 0.6 * user.priceSensitivity * log(item.price / category.medianPrice)
                    + 0.5 * favourite + observable
                let pCTR = LogisticMath.sigmoid(ctrLogit), pCVR = LogisticMath.sigmoid(cvrLogit)
                let clickDraw = random.nextUnit() < pCTR
                let wouldBuy = random.nextUnit() < pCVR
                let delay = min(
                    configuration.delayScale * category.medianDelayHours * exp(random.normal()), window * 0.999)
                let clickTime = time + 0.01 + 0.1 * random.nextUnit()
                let clicked = clickDraw && clickTime <= snapshotHours  // a click after the snapshot is not in the log
                let converted = clicked && wouldBuy
                let observed = converted && clickTime + delay <= snapshotHours
                // Post-click signals, only for clicks; they track the purchase intention.
                var dwell = "", cart = "", reviews = ""
                let noise = random.normal(), cartDraw = random.nextUnit(), reviewNoise = random.normal()
                if clicked {
                    let intent = wouldBuy ? 1.0 : 0.0
                    dwell = String.fixed(exp(3.0 + 0.9 * intent + 0.3 * item.quality + 0.4 * noise), digits: 1)
                    cart = cartDraw < LogisticMath.sigmoid(-2 + 2.5 * intent + 0.3 * item.quality) ? "1" : "0"
                    reviews = String(Int(exp(0.5 + 0.6 * intent + 0.5 * reviewNoise)))
                }
                summary.rows += 1
                summary.clicks += clicked ? 1 : 0
                summary.conversionsEventual += converted ? 1 : 0
                summary.conversionsObserved += observed ? 1 : 0
                let cells: [String] = [
                    requestID, "u\(userIndex)", "\(user.segment)", "\(user.gender)", "\(user.age)",
                    user.favourites.map { "c\($0)" }.joined(separator: "|"), "\(hour)", "\(device)", "\(page)",
                    "\(position)",
                    "i\(itemIndex)", "c\(item.category)", "b\(item.brand)", "s\(item.shop)",
                    String.fixed(item.price, digits: 2),
                    String.fixed(item.thumbnailScore, digits: 3), String.fixed(item.rating, digits: 3), dwell, cart,
                    reviews,
                    clicked ? "1" : "0", observed ? "1" : "0", String.fixed(time, digits: 3),
                    clicked ? String.fixed(clickTime, digits: 3) : "",
                    observed ? String.fixed(clickTime + delay, digits: 3) : "", String.fixed(snapshotHours, digits: 1),
                ]
                data.line(cells.joined(separator: ","))
                truth.line(
                    [
                        String.fixed(pCTR, digits: 6), String.fixed(pCVR, digits: 6), wouldBuy ? "1" : "0",
                        converted ? "1" : "0", String.fixed(delay, digits: 3),
                    ].joined(separator: ","))
            }
        }
        try data.close()
        try truth.close()
        return summary
    }

    private func sampleItem(_ random: inout SplitMix64) -> Int {
        let u = random.nextUnit()
        var low = 0, high = popularity.count - 1
        while low < high {
            let mid = (low + high) / 2
            if popularity[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Writes train.csv, train_truth.csv, test.csv, test_truth.csv and schema.json into `directory`.
    public func writeFiles(directory: String) throws -> (train: Summary, test: Summary) {
        try CheckpointExporter.makeDirectories(directory)
        let trainEnd = Double(configuration.trainDays) * 24
        let testEnd = trainEnd + Double(configuration.testDays) * 24
        let train = try write(
            dataPath: directory + "/train.csv", truthPath: directory + "/train_truth.csv",
            rows: configuration.trainRows,
            startHours: 0, endHours: trainEnd, snapshotHours: trainEnd, stream: 1)
        // Test labels are read a full window after the last test impression: all mature.
        let test = try write(
            dataPath: directory + "/test.csv", truthPath: directory + "/test_truth.csv", rows: configuration.testRows,
            startHours: trainEnd, endHours: testEnd, snapshotHours: testEnd + Self.attributionWindowHours + 1, stream: 2
        )
        var schema = Self.schema(configuration: configuration)
        schema.crosses = .auto  // what a schema file that does not say gets, as a user's would
        try schema.write(path: directory + "/schema.json")
        return (train, test)
    }
}
