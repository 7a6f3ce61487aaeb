import Testing
@testable import CausewayCore

@Suite struct JSONParserTests {
    @Test func parsesEveryJSONType() throws {
        let v = try JSONParser.parse(#"{"a":1,"b":-2.5,"c":"x\ny","d":[true,false,null],"e":{},"f":9007199254740993,"g":1e3}"#)
        #expect(v["a"] == .int(1))
        #expect(v["b"] == .double(-2.5))
        #expect(v["c"] == .string("x\ny"))
        #expect(v["d"] == .array([.bool(true), .bool(false), .null]))
        #expect(v["e"] == .object([:]))
        #expect(v["f"] == .int(9_007_199_254_740_993), "integers beyond 2^53 stay exact")
        #expect(v["g"] == .double(1000))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try JSONParser.parse(#""\u00e9\ud83d\ude00\"\\\/""#) == .string("é😀\"\\/"))
    }

    @Test(arguments: [
        "", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "tru", "01", "1.", "\"\\x\"", "\"\\ud800\"", "{a:1}", "[1] 2",
        "\"abc", "-", "1e", "\"\u{01}\"",
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(text) }
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func writerRoundTripsAndSortsKeys() throws {
        let value: JSONValue = .object(["b": .string("q\"\\\n\u{01}é"), "a": .array([.int(-3), .double(0.25), .null, .bool(true)])])
        let text = JSONWriter.string(value)
        #expect(text == #"{"a":[-3,0.25,null,true],"b":"q\"\\\n\u0001é"}"#)
        #expect(try JSONParser.parse(text) == value)
    }
}

@Suite struct ParseDateTests {
    @Test func formatsLikeJavaScript() {
        #expect(ParseDate(millisecondsSince1970: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(ParseDate(millisecondsSince1970: 1_795_453_690_679).iso8601 == "2026-11-23T17:08:10.679Z")
        #expect(ParseDate(millisecondsSince1970: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(ParseDate(millisecondsSince1970: 951_782_400_000).iso8601 == "2000-02-29T00:00:00.000Z")
        #expect(ParseDate(millisecondsSince1970: 253_402_300_799_999).iso8601 == "9999-12-31T23:59:59.999Z")
        #expect(ParseDate(millisecondsSince1970: -62_135_596_800_000).iso8601 == "0001-01-01T00:00:00.000Z")
        #expect(ParseDate(millisecondsSince1970: 59_999).iso8601 == "1970-01-01T00:00:59.999Z")
    }

    @Test func parsesISO8601Forms() {
        #expect(ParseDate(iso8601: "2026-11-23T17:08:10.679Z")?.millisecondsSince1970 == 1_795_453_690_679)
        #expect(ParseDate(iso8601: "2026-11-23T18:08:10.679+01:00")?.millisecondsSince1970 == 1_795_453_690_679)
        #expect(ParseDate(iso8601: "2026-11-23T17:08:10Z")?.millisecondsSince1970 == 1_795_453_690_000)
        #expect(ParseDate(iso8601: "2026-11-23")?.millisecondsSince1970 == 1_795_392_000_000)
        for bad in ["2026-13-01", "2026-02-30T00:00Z", "yesterday", "2026-11-23T25:00Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Zjunk"] {
            #expect(ParseDate(iso8601: bad) == nil, "\(bad)")
        }
    }

    @Test func roundTripsManyInstants() {
        var ms: Int64 = -62_000_000_000_000
        while ms < 253_000_000_000_000 {
            let d = ParseDate(millisecondsSince1970: ms)
            #expect(ParseDate(iso8601: d.iso8601) == d)
            ms += 7_777_777_777_7
        }
    }
}

@Suite struct ParseCodecTests {
    @Test func decodesTypedValues() throws {
        let date = try ParseCodec.decode(.object(["__type": .string("Date"), "iso": .string("2026-01-02T03:04:05.006Z")]))
        #expect(date == .date(ParseDate(iso8601: "2026-01-02T03:04:05.006Z")!))
        let geo = try ParseCodec.decode(.object(["__type": .string("GeoPoint"), "latitude": .int(10), "longitude": .double(-20.5)]))
        #expect(geo == .geoPoint(GeoPoint(latitude: 10, longitude: -20.5)))
        let bytes = try ParseCodec.decode(.object(["__type": .string("Bytes"), "base64": .string("AAEC/w==")]))
        #expect(bytes == .bytes([0, 1, 2, 255]))
        #expect(ParseCodec.encode(bytes) == .object(["__type": .string("Bytes"), "base64": .string("AAEC/w==")]))
    }

    @Test func rejectsMalformedTypedValues() {
        for bad: JSONValue in [
            .object(["__type": .string("Date"), "iso": .string("nope")]),
            .object(["__type": .string("GeoPoint"), "latitude": .int(91), "longitude": .int(0)]),
            .object(["__type": .string("GeoPoint"), "latitude": .string("1"), "longitude": .int(0)]),
            .object(["__type": .string("Bytes"), "base64": .string("%%%")]),
            .object(["__type": .string("Pointer"), "className": .string("A")]),
            .object(["__type": .string("Mystery")]),
        ] {
            #expect(throws: GatewayError.self) { try ParseCodec.decode(bad) }
        }
    }
}
