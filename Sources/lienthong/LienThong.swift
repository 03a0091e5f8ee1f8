import ArgumentParser

@main
struct LienThong: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lienthong",
        abstract: "LienThong: the message-queue backbone between communes, departments and the national portal.",
        subcommands: [
            DevCommand.self, WorkerCommand.self, RelayCommand.self, MigrateCommand.self, ReconcileCommand.self,
            SimulateCommand.self, StatusCommand.self, VerifyAuditCommand.self, TriageCommand.self,
            DeadLetterCommand.self,
        ]
    )
}
