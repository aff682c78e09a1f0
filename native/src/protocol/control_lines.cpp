// The control channel's messages and command handling shared by the Unix socket and the Windows
// named pipe servers (control_lines.h).
#include "control_lines.h"

#include "tuner/error.h"
#include "tuner/json.h"
#include "tuner/protocol.h"

namespace tuner {

std::string control_message(const char* type, const std::string& fields) {
  return "{\"version\":" + std::to_string(kProtocolVersion) + ",\"type\":\"" + type + "\"" + fields + "}";
}

static std::string role_fields(bool controller) {
  return std::string(",\"role\":\"") + (controller ? "controller" : "observer") + "\"";
}

std::string role_message(bool controller) { return control_message("role", role_fields(controller)); }

std::string hello_message(bool controller, long pid) {
  return control_message("hello", role_fields(controller) + ",\"pid\":" + std::to_string(pid));
}

std::string refused_message(const std::string& why) { return control_message("refused", ",\"message\":" + json_quote(why)); }

bool is_take_control(const std::string& line) {
  if (line.find("take_control") == std::string::npos) return false;
  try {
    const Json j = Json::parse(line, "control line");
    const Json* type = j.is_object() ? j.find("type") : nullptr;
    const Json* version = j.is_object() ? j.find("version") : nullptr;
    return type && type->is_string() && type->as_string() == "take_control" && version && version->is_number() &&
           version->as_number() == kProtocolVersion;
  } catch (const TunerError&) {
    return false;
  }
}

bool accept_command(const std::string& line, bool controller, Command* out, std::string* answer) {
  answer->clear();
  if (line.find_first_not_of(" \t\r") == std::string::npos) return false;
  std::string why;
  if (!parse_command(line, out, &why)) {
    std::fprintf(stderr, "tuner-train: ignored control command: %s\n", why.c_str());
    *answer = refused_message(why);
    return false;
  }
  if (!controller) {
    *answer = refused_message(std::string(command_name(out->type)) + ": another window controls this run; this one only watches it");
    return false;
  }
  return true;
}

}  // namespace tuner
