using RaftKv.Cli;

return await RaftKvCli.RunAsync(args).ConfigureAwait(false);
