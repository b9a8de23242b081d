// The zongheng extension: starts `zongheng lsp` for *.zh files and hands it to VS Code's
// language client. Everything the editor shows comes from the server (docs/editors.md).
"use strict";

const path = require("path");
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

// The executable from `zongheng.server.path`: a relative path (one with a slash) is taken
// from the first workspace folder, a bare name is looked up on PATH.
function serverCommand(config) {
  const configured = config.get("server.path", "zongheng");
  const folders = vscode.workspace.workspaceFolders;
  if (/[\\/]/.test(configured) && !path.isAbsolute(configured) && folders && folders.length) {
    return path.join(folders[0].uri.fsPath, configured);
  }
  return configured;
}

async function startClient() {
  const config = vscode.workspace.getConfiguration("zongheng");
  const command = serverCommand(config);
  const args = [...config.get("server.args", []), "lsp"];
  // No `transport`: the client speaks over stdio without adding --stdio to the arguments.
  const serverOptions = { run: { command, args }, debug: { command, args } };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "zongheng" },
      { scheme: "untitled", language: "zongheng" },
    ],
    initializationOptions: { lint: config.get("lint", true) },
  };
  client = new LanguageClient("zongheng", "zongheng", serverOptions, clientOptions);
  await client.start();
}

async function stopClient() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("zongheng")) {
        await stopClient();
        await startClient();
      }
    })
  );
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };
