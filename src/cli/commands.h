/* One function per subcommand, each in src/cli/cmd_<name>.c. argv[0] is the command name. */
#ifndef A2M_CLI_COMMANDS_H
#define A2M_CLI_COMMANDS_H
int cmd_features(int argc, char **argv);
int cmd_labels(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_gendata(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_trustworthiness(int argc, char **argv);
int cmd_knn(int argc, char **argv);
int cmd_linear(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_plot_search(int argc, char **argv); /* a2m plot search (src/cli/plot_search.c) */
#endif
