# TEMPORARY scaffolding (wip-fleet): a twinhubctl with only `plan` and `sidecar-config`, until
# they are merged into the real controller main (controller/src/main.cc calls addPlanCommands()
# from plan_command.h). Delete this file and its include() in the top-level CMakeLists then.
add_executable(twinhubctl
  ${CMAKE_CURRENT_LIST_DIR}/src/fleet_main_tmp.cc
  ${CMAKE_CURRENT_LIST_DIR}/src/plan_command.cc)
target_include_directories(twinhubctl PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src)
target_link_libraries(twinhubctl PRIVATE twinhub_fleet CLI11::CLI11)
