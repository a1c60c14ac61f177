// The preload script of examples/electron-main.ts: exposes the main process's allow-list to
// the page, one function per channel, and nothing else of Electron.

import { contextBridge, ipcRenderer } from 'electron'
import type { GetLogsOptions, ListSessionsOptions } from '@cherry/agentdb'

contextBridge.exposeInMainWorld('agentdb', {
  listSessions: (options?: ListSessionsOptions) => ipcRenderer.invoke('agentdb:listSessions', options),
  getSessionWithAgent: (id: string) => ipcRenderer.invoke('agentdb:getSessionWithAgent', id),
  getLogs: (sessionId: string, options?: GetLogsOptions) => ipcRenderer.invoke('agentdb:getLogs', sessionId, options),
})
