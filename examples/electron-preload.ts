// The preload script of examples/electron-main.ts: exposes the main process's allow-list to
// the page, one function per channel, the change events it forwards, and nothing else of
// Electron.

import { contextBridge, ipcRenderer } from 'electron'
import type { IpcRendererEvent } from 'electron'
import type { ChangeEvent, GetLogsOptions, ListSessionsOptions, WatchOptions } from '@cherry/agentdb'

// `onChange(listener)` hears every change event the main process forwards and returns the
// function that stops listening; `onReplaced` hears that the whole database was replaced.
const subscribe = <T extends unknown[]>(channel: string, listener: (...args: T) => void) => {
  const forward = (_event: IpcRendererEvent, ...args: unknown[]) => listener(...(args as T))
  ipcRenderer.on(channel, forward)
  return () => {
    ipcRenderer.removeListener(channel, forward)
  }
}

const bridge = {
  listSessions: (options?: ListSessionsOptions) => ipcRenderer.invoke('agentdb:listSessions', options),
  getSessionWithAgent: (id: string) => ipcRenderer.invoke('agentdb:getSessionWithAgent', id),
  getLogs: (sessionId: string, options?: GetLogsOptions) => ipcRenderer.invoke('agentdb:getLogs', sessionId, options),
  changesSince: (seq: number, options?: WatchOptions) => ipcRenderer.invoke('agentdb:changesSince', seq, options),
  onChange: (listener: (event: ChangeEvent) => void) => subscribe('agentdb:change', listener),
  onReplaced: (listener: () => void) => subscribe('agentdb:replaced', listener),
}

/** What the page finds as `window.agentdb`. */
export type AgentDbBridge = typeof bridge

contextBridge.exposeInMainWorld('agentdb', bridge)
