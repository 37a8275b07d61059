// The parts of an MLIR location trnx reports: the file position (first
// FileLineColLoc found through names, fusions and call sites) and the op
// name (the innermost NameLoc, as trn-annotate-origins writes them).
#pragma once

#include "mlir/IR/Location.h"

#include <string>

namespace trnx {

struct LocationParts {
  std::string name;            // "" when there is no NameLoc
  mlir::FileLineColLoc file;   // null when there is no file position

  // "file:line:col", or "" without a file position.
  std::string fileText() const {
    if (!file)
      return "";
    return file.getFilename().str() + ":" + std::to_string(file.getLine()) + ":" + std::to_string(file.getColumn());
  }
};

inline void collectLocationParts(mlir::Location loc, LocationParts &parts) {
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc)) {
    parts.name = name.getName().str();
    collectLocationParts(name.getChildLoc(), parts);
  } else if (auto file = llvm::dyn_cast<mlir::FileLineColLoc>(loc)) {
    if (!parts.file)
      parts.file = file;
  } else if (auto fused = llvm::dyn_cast<mlir::FusedLoc>(loc)) {
    for (mlir::Location inner : fused.getLocations())
      collectLocationParts(inner, parts);
  } else if (auto call = llvm::dyn_cast<mlir::CallSiteLoc>(loc)) {
    collectLocationParts(call.getCallee(), parts);
  }
}

inline LocationParts locationParts(mlir::Location loc) {
  LocationParts parts;
  collectLocationParts(loc, parts);
  return parts;
}

} // namespace trnx
