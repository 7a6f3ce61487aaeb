@testable import CausewayREST
import Testing

@Suite struct RESTURLEncodingTests {
    @Test func onlyUnreservedCharactersPassUnencoded() {
        #expect(RESTURLEncoding.encode("abc-XYZ_09.~") == "abc-XYZ_09.~")
        #expect(RESTURLEncoding.encode("a b/c?d&e=f#g%h+i") == "a%20b%2Fc%3Fd%26e%3Df%23g%25h%2Bi")
        #expect(RESTURLEncoding.encode("page[limit]") == "page%5Blimit%5D")
        // Non-ASCII letters are encoded as their UTF-8 bytes (CharacterSet.alphanumerics let them through).
        #expect(RESTURLEncoding.encode("Zürich") == "Z%C3%BCrich")
        #expect(RESTURLEncoding.encode("") == "")
    }

    @Test func theObjectIdMarkerIsFilledEverywhereAndOtherBracesStay() {
        #expect(RESTURLEncoding.fill("/tickets/{objectId}", objectId: "7") == "/tickets/7")
        #expect(RESTURLEncoding.fill("/a/{objectId}/b/{objectId}", objectId: "x%2Fy") == "/a/x%2Fy/b/x%2Fy")
        #expect(RESTURLEncoding.fill("/{other}/{objectId}{", objectId: "1") == "/{other}/1{")
        #expect(RESTURLEncoding.fill("/plain", objectId: "1") == "/plain")
    }
}
