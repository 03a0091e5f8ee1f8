import Foundation
import LienThongDomain
import LienThongWorker

private let fixtureDecoder = InboundEventDecoder()

/// A consumed inbound event built from JSON, as a worker would receive it. `time` defaults to 08:(10+version)
/// on 2 July 2025, Hanoi time.
func consumed(
    _ type: String, dossier: String = "001.00.80.H26-250702-0001", version: Int, id: String? = nil, data: String,
    offset: Int64, partition: Int32 = 0, time: String? = nil
) throws -> ConsumedEvent {
    let json = """
        {"specversion":"1.0","id":"\(id ?? "\(dossier)-v\(version)")","source":"/agencies/001.00.80.H26",\
        "type":"vn.gov.lienthong.\(type)","time":"\(time ?? "2025-07-02T08:\(10 + version):00+07:00")",\
        "subject":"\(dossier)","dossierversion":\(version),"produceragency":"001.00.80.H26",\
        "correlationid":"c-\(version)","data":\(data)}
        """
    let bytes = Array(json.utf8)
    return ConsumedEvent(
        topic: "dossier.events", partition: partition, offset: offset, bytes: bytes,
        event: try fixtureDecoder.decode(bytes).get())
}

/// The data of an opening event (submitted or received) at Ba Đình's point.
func openingData(procedure: String, commune: String = "00004", channel: String = "counter") -> String {
    #"{"procedure":"\#(procedure)","commune":"\#(commune)","channel":"\#(channel)","applicant":{"name":"Nguyễn Văn An"}}"#
}
