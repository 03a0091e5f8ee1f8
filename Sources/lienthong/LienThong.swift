import ArgumentParser

@main
struct LienThong: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lienthong", abstract: "LienThong")
}
