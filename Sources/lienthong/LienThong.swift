import ArgumentParser

@main
struct LienThong: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lienthong",
        abstract: "LienThong: the message-queue backbone between communes, departments and the national portal.",
        subcommands: [MigrateCommand.self, WorkerCommand.self, RelayCommand.self, ReconcileCommand.self]
    )
}
