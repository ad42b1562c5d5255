#include "datapath/datapath.h"

#include "common/overloaded.h"

namespace vigil::datapath {
namespace {

std::string destination_path(const ServiceKey& service, const DestinationKey& key) {
  return to_string(service) + " -> " + to_string(key);
}

}  // namespace

std::string to_string(const Operation& operation) {
  return std::visit(
      Overloaded{
          [](const AddService& op) {
            return "add service " + to_string(op.key) + " " + to_string(op.service);
          },
          [](const EditService& op) {
            return "edit service " + to_string(op.key) + " " + to_string(op.service);
          },
          [](const DeleteService& op) { return "delete service " + to_string(op.key); },
          [](const AddDestination& op) {
            return "add dest " + destination_path(op.service, op.key) + " " +
                   to_string(op.destination);
          },
          [](const EditDestination& op) {
            return "edit dest " + destination_path(op.service, op.key) + " " +
                   to_string(op.destination);
          },
          [](const DeleteDestination& op) {
            return "delete dest " + destination_path(op.service, op.key);
          },
          [](const Flush&) { return std::string("flush"); },
      },
      operation);
}

std::string to_string(OperationKind kind) {
  switch (kind) {
    case OperationKind::kAddService:
      return "add service";
    case OperationKind::kEditService:
      return "edit service";
    case OperationKind::kDeleteService:
      return "delete service";
    case OperationKind::kAddDestination:
      return "add dest";
    case OperationKind::kEditDestination:
      return "edit dest";
    case OperationKind::kDeleteDestination:
      return "delete dest";
    case OperationKind::kFlush:
      return "flush";
  }
  return "operation-" + std::to_string(static_cast<unsigned>(kind));
}

}  // namespace vigil::datapath
