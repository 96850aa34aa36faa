"""Imports of threads (ChatGPT and Confide exports, a background job) and exports of one."""
