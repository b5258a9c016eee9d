#!/usr/bin/env python3
"""pyVmomi against vcsim-lite's SOAP endpoint: connect, list VMs with guest names, a VM
lifecycle with pyVim's WaitForTask (no workaround module), an admission failure, and events.
Prints one JSON object; the Rust test (tests/it/soap/pyvmomi.rs) checks it."""
import argparse
import json

from pyVim.connect import SmartConnect, Disconnect
from pyVim.task import WaitForTask
from pyVmomi import vim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--protocol", default="https")
    a = ap.parse_args()
    out = {}
    si = SmartConnect(protocol=a.protocol, host="127.0.0.1", port=a.port, user="user",
                      pwd="pass", disableSslCertValidation=True)
    content = si.RetrieveContent()
    out["apiType"] = content.about.apiType
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    out["vms"] = sorted([vm.name, vm.config.guestFullName, vm.summary.config.guestFullName,
                         vm.runtime.powerState] for vm in view.view)
    view.DestroyView()

    dc = content.rootFolder.childEntity[0]
    cluster = next(c for c in dc.hostFolder.childEntity
                   if isinstance(c, vim.ClusterComputeResource))
    pool = cluster.resourcePool
    spec = vim.vm.ConfigSpec(name="py-vm", guestId="otherGuest64", memoryMB=256, numCPUs=1,
                             alternateGuestName="Photon - Container v1.5.0, 12345, 9d146bc",
                             files=vim.vm.FileInfo(vmPathName="[sharedDS]"))
    task = dc.vmFolder.CreateVM_Task(config=spec, pool=pool)
    out["create"] = WaitForTask(task)
    out["task_name"] = task.info.name.info.wsdlName  # resolved, not UnknownManagedMethod
    vm = task.info.result
    out["created_guest"] = vm.summary.config.guestFullName
    out["power_on"] = WaitForTask(vm.PowerOnVM_Task())
    out["on_state"] = str(vm.runtime.powerState)
    out["on_host"] = vm.runtime.host.name
    out["power_off"] = WaitForTask(vm.PowerOffVM_Task())
    out["destroy"] = WaitForTask(vm.Destroy_Task())

    big = vim.vm.ConfigSpec(name="py-huge", guestId="otherGuest64", memoryMB=2097152, numCPUs=1,
                            memoryAllocation=vim.ResourceAllocationInfo(reservation=2097152),
                            files=vim.vm.FileInfo(vmPathName="[sharedDS]"))
    t = dc.vmFolder.CreateVM_Task(config=big, pool=pool)
    WaitForTask(t)
    huge = t.info.result
    try:
        WaitForTask(huge.PowerOnVM_Task())
        out["admission"] = "no fault"
    except vim.fault.InsufficientResourcesFault as e:
        out["admission"] = type(e).__name__
    WaitForTask(huge.Destroy_Task())

    em = content.eventManager
    by = vim.event.EventFilterSpec.ByEntity(entity=content.rootFolder, recursion="all")
    events = em.QueryEvents(vim.event.EventFilterSpec(entity=by))
    out["event_types"] = sorted({type(e).__name__ for e in events})
    out["py_vm_events"] = [type(e).__name__ for e in events if e.vm and e.vm.name == "py-vm"]
    collector = em.CreateCollectorForEvents(vim.event.EventFilterSpec(entity=by))
    collector.SetCollectorPageSize(3)
    out["latest_page"] = len(collector.latestPage)
    collector.DestroyCollector()
    Disconnect(si)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
